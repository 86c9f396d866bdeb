import Foundation
import SafeFiles

/// A command to run: an argument vector, never a shell string, and a timeout.
public struct Command: Sendable, Equatable, CustomStringConvertible {
    /// The program (a name looked up on PATH, or a path) and its arguments.
    public var argv: [String]
    /// Seconds before the command's process group gets TERM, then KILL.
    public var timeout: Double
    /// Variables added to (or replacing) the inherited environment. hanfs
    /// always sets LC_ALL=C so that it can read the tools' output.
    public var environment: [String: String]
    /// Bytes written to the command's standard input (otherwise /dev/null).
    public var input: [UInt8]?
    /// The most bytes of stdout and of stderr kept; the rest is read and dropped.
    public var outputLimit: Int
    /// It only looks (vgs, exportfs -v, ip addr show): a dry run runs it for
    /// real, to plan from the node's real state.
    public var readOnly: Bool
    /// Started and not waited for (the ARP announcements after an address is
    /// added): its output goes to /dev/null, and the program itself must stop
    /// within `timeout`. The result says only that it started.
    public var background: Bool
    /// In the background: where its stdout and stderr go (appended), instead of /dev/null.
    public var logFile: String?
    /// A failure is an answer, not a trouble (a tool asked for its version
    /// that exits 1 after printing it): logged as info, not as a warning.
    public var failureIsAnswer = false

    public init(
        _ argv: [String], timeout: Double, environment: [String: String] = [:], input: [UInt8]? = nil,
        outputLimit: Int = 1 << 20, readOnly: Bool = false, background: Bool = false, logFile: String? = nil
    ) {
        self.readOnly = readOnly
        self.background = background
        self.logFile = logFile
        precondition(!argv.isEmpty, "a command needs a program")
        self.argv = argv
        self.timeout = timeout
        self.environment = environment
        self.input = input
        self.outputLimit = outputLimit
    }

    /// The argv as a shell would need it typed, for logs and plans only.
    public var description: String { argv.map(Command.quoted).joined(separator: " ") }

    static func quoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
        if plain && !word.isEmpty { return word }
        // A control character (a NUL, a newline) is shown escaped, never
        // written raw into a log line.
        if word.unicodeScalars.contains(where: \.isControlCharacter) {
            var text = "$'"
            for s in word.unicodeScalars {
                switch s {
                case "\\": text += "\\\\"
                case "'": text += "\\'"
                case _ where s.isControlCharacter: text += String(format: "\\x%02x", s.value)
                default: text.unicodeScalars.append(s)
                }
            }
            return text + "'"
        }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Why the command cannot be given to a program as it is: a NUL byte in
    /// an argument or in the environment would cut the C string short (a
    /// mount point "/\0srv" would be "/"); nil when it can.
    public var unrepresentable: String? {
        if let i = argv.firstIndex(where: { $0.utf8.contains(0) }) {
            return i == 0 ? "the program name contains a NUL byte" : "argument \(i) contains a NUL byte, which no program can receive"
        }
        if let key = environment.first(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) || $0.key.contains("=") || $0.key.isEmpty })?.key {
            return "the environment variable \(Command.quoted(key)) has a NUL byte or an '=' in its name, or a NUL in its value"
        }
        return nil
    }
}

/// How a command ended, what it printed, and how long it took.
public struct CommandResult: Sendable, Equatable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    public var termination: Termination
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Output past `outputLimit` was dropped.
    public var truncated: Bool
    /// Seconds from start to the end of the process.
    public var duration: Double
    /// The command ran past its timeout and was killed.
    public var timedOut: Bool

    public init(
        termination: Termination = .exited(0), stdout: [UInt8] = [], stderr: [UInt8] = [], truncated: Bool = false,
        duration: Double = 0, timedOut: Bool = false
    ) {
        self.termination = termination
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
        self.duration = duration
        self.timedOut = timedOut
    }

    public static func exited(_ code: Int32, stdout: String = "", stderr: String = "") -> CommandResult {
        CommandResult(termination: .exited(code), stdout: Array(stdout.utf8), stderr: Array(stderr.utf8))
    }

    public var succeeded: Bool { termination == .exited(0) && !timedOut }

    public var exitCode: Int32? {
        if case .exited(let c) = termination { return c }
        return nil
    }

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The last non-empty lines of stderr, joined, for logs and error messages.
    public func stderrTail(lines: Int = 3) -> String {
        stderrText.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines)
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " | ")
    }

    /// Why a hanfs command failed, from its stderr: the last line its log
    /// wrote at the level `error` (its console lines come first, a
    /// traceback may follow), else the last lines.
    public var failureReason: String {
        let lines = stderrText.split(separator: "\n", omittingEmptySubsequences: true)
        if let error = lines.last(where: { $0.contains(" error ") }) {
            return error.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).joined(separator: " ")
        }
        return stderrTail()
    }

    /// `exited with status 2`, `killed by signal 9`, `timed out after 5 s`.
    public var summary: String {
        if timedOut { return "timed out after \(Self.seconds(duration))" }
        switch termination {
        case .exited(let c): return "exited with status \(c)"
        case .signaled(let s): return "killed by signal \(s)"
        }
    }

    /// `2.5 ms`, `250 ms`, `3.2 s`.
    public static func seconds(_ d: Double) -> String {
        // By hand: String(format:) costs more than the rest of a log line.
        func tenths(_ x: Double) -> String {
            let n = Int((x * 10).rounded())
            return "\(n / 10).\(n % 10)"
        }
        if d < 0.00995 { return "\(tenths(d * 1000)) ms" }
        return d < 1 ? "\(Int((d * 1000).rounded())) ms" : "\(tenths(d)) s"
    }
}

/// A command could not be run at all.
public enum CommandError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case spawnFailed(String, Int32)
    case interrupted(String)
    /// An argv or environment no program can receive (see Command.unrepresentable).
    case unrepresentable(String, String)

    public var description: String {
        switch self {
        case .unrepresentable(let program, let why): return "\(Command.quoted(program)): \(why)"
        case .notFound(let program): return "\(program): command not found"
        case .spawnFailed(let program, let err): return "\(program): cannot start (\(String(cString: strerror(err))))"
        case .interrupted(let program): return "\(program): interrupted"
        }
    }
}

/// What every primitive runs commands through.
public protocol CommandRunner: Sendable {
    func run(_ command: Command) throws -> CommandResult
}
