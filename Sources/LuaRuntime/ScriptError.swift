/// A Lua script failed, or the host stopped it.
public struct ScriptError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The script could not be read.
        case file
        /// The script does not compile.
        case syntax
        /// The script raised an error (its own, or a host function's).
        case runtime
        /// The run passed its deadline.
        case deadline
        /// Ctrl-C, SIGTERM, or a cancel from another thread.
        case interrupted
        /// The run passed its memory limit.
        case memory
    }

    public let kind: Kind
    /// One line: `file:line: message`, as Lua reports it.
    public let message: String
    /// `stack traceback:` and its lines, when the error happened while running.
    public let traceback: String?

    public init(kind: Kind, message: String, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.traceback = traceback
    }

    public var description: String { message }

    /// The message followed by the traceback, for a terminal or a log. A
    /// message without a position is one a script raised on purpose for
    /// the operator (`error(msg, 0)`: "volume group vg01 is not visible"),
    /// an expected condition: it stands alone.
    public var report: String {
        guard let traceback, !traceback.isEmpty, kind != .runtime || hasPosition else { return message }
        return message + "\n" + traceback
    }

    /// Whether the message starts with where it was raised: `chunk:line: `.
    var hasPosition: Bool {
        guard let colon = message.firstIndex(of: ":") else { return false }
        let rest = message[message.index(after: colon)...]
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        return !digits.isEmpty && rest.dropFirst(digits.count).hasPrefix(": ")
            || message.hasPrefix("[string ") && message.contains("]:")
    }
}

/// An error a host function throws: Lua sees `file:line: name: message`.
public struct HostError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A host function was called with an argument of the wrong kind. Lua sees it
/// the way the standard library reports one:
/// `file:line: bad argument #2 to 'mount' (string expected, got nil)`.
public struct ArgumentError: Error, CustomStringConvertible, Sendable {
    public let position: Int
    public let problem: String
    public init(position: Int, _ problem: String) {
        self.position = position
        self.problem = problem
    }
    public var description: String { "bad argument #\(position) (\(problem))" }
}
