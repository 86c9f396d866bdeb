import Foundation
import LinuxCalls

#if canImport(Glibc)
import Glibc
#endif

/// Runs commands for real: posix_spawn in a session (and process group) of
/// their own, output read through pipes with poll, and a deadline after which
/// the whole group gets TERM, then KILL. Synchronous: the Lua thread waits.
public struct ProcessRunner: CommandRunner {
    /// Seconds between TERM and KILL when a command is stopped.
    public var killGrace: Double
    /// Polled while a command runs; true stops it (Ctrl-C, a script's deadline).
    public var shouldStop: @Sendable () -> Bool
    /// The environment commands inherit, read once (reading it costs as
    /// much as a short command's spawn), with LC_ALL=C so that hanfs can
    /// read the tools' output.
    static let inherited: [String: String] = {
        // What children inherit, not a setting: the one read of the process
        // environment below the front ends (Tests/CLITests/LayeringTests).
        var e = ProcessInfo.processInfo.environment  // inherited by children
        e["LC_ALL"] = "C"
        return e
    }()

    /// Directories searched after PATH: the administration tools live there.
    static let systemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    public init(killGrace: Double = 2, shouldStop: @escaping @Sendable () -> Bool = { false }) {
        _ = Self.ignoreBrokenPipes
        self.killGrace = killGrace
        self.shouldStop = shouldStop
    }

    /// A command that exits before reading all of its input must not kill
    /// hanfs with SIGPIPE: the write fails with EPIPE instead.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    public func run(_ command: Command) throws -> CommandResult {
        let program = command.argv[0]
        guard let path = Self.resolve(program) else { throw CommandError.notFound(program) }
        let start = Monotonic.now()
        let pipes = try Pipes(input: command.input != nil, program: program)
        let pid = try spawn(command, path: path, pipes: pipes)
        guard !command.background else {
            _ = close(pipes.out[0])
            _ = close(pipes.err[0])
            // Reaped on a thread of its own; if hanfs exits first, init does it.
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
            return CommandResult(duration: Monotonic.now() - start)
        }
        return try wait(for: pid, command, pipes, since: start)
    }

    /// The pipes to a child: its stdout and stderr, and its stdin when it is given input.
    struct Pipes {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        var input: [Int32] = [-1, -1]
        let hasInput: Bool

        init(input: Bool, program: String) throws {
            hasInput = input
            guard lc_pipe2(&out, O_CLOEXEC) == 0, lc_pipe2(&err, O_CLOEXEC) == 0 else {
                throw CommandError.spawnFailed(program, errno)
            }
            if input, lc_pipe2(&self.input, O_CLOEXEC) != 0 {
                let e = errno
                [out[0], out[1], err[0], err[1]].forEach { _ = close($0) }
                throw CommandError.spawnFailed(program, e)
            }
        }
    }

    /// Starts the command in a session of its own; closes the child's ends
    /// of the pipes (and ours too, when it could not start).
    private func spawn(_ command: Command, path: String, pipes: Pipes) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if pipes.hasInput {
            posix_spawn_file_actions_adddup2(&actions, pipes.input[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if command.background {
            posix_spawn_file_actions_addopen(&actions, 1, command.logFile ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, pipes.out[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipes.err[1], 2)
        }
        var attributes = Self.spawnAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        var environment = Self.inherited
        for (k, v) in command.environment { environment[k] = v }

        var pid: pid_t = 0
        let spawnStatus = Self.withCStrings(command.argv) { argv in
            Self.withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in
                posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            }
        }
        _ = close(pipes.out[1])
        _ = close(pipes.err[1])
        if pipes.hasInput { _ = close(pipes.input[0]) }
        guard spawnStatus == 0 else {
            _ = close(pipes.out[0])
            _ = close(pipes.err[0])
            if pipes.hasInput { _ = close(pipes.input[1]) }
            throw CommandError.spawnFailed(command.argv[0], spawnStatus)
        }
        return pid
    }

    /// A new session makes a new process group, away from the terminal: the
    /// timeout can signal the whole group, and Ctrl-C reaches only hanfs.
    /// No signal blocked, every one at its default.
    private static func spawnAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (a GNU extension, not imported)
        posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        return attributes
    }

    /// Feeds the input and reads the output until the child exits, its
    /// timeout passes (its group is ended) or the run is stopped.
    private func wait(for pid: pid_t, _ command: Command, _ pipes: Pipes, since start: Double) throws -> CommandResult {
        var session = Session(
            stdout: pipes.out[0], stderr: pipes.err[0], stdin: pipes.hasInput ? pipes.input[1] : -1,
            exit: lc_pidfd_open(pid, 0), input: command.input ?? [], limit: command.outputLimit)
        defer { session.closeAll() }
        let deadline = start + command.timeout
        var interrupted = false
        var timedOut = false
        var status: Int32?
        while status == nil {
            if shouldStop() {
                interrupted = true
                break
            }
            let now = Monotonic.now()
            if now >= deadline {
                timedOut = true
                break
            }
            // Short polls: a stop request is noticed within 50 ms.
            session.pump(waitMilliseconds: Int32(min(50, max(1, (deadline - now) * 1000))))
            status = Self.reap(pid)
        }
        if status == nil {
            status = terminate(group: pid)
        } else {
            // Exited: take what is left in the pipes, without waiting for a
            // daemon it left behind to close them.
            session.pump(waitMilliseconds: 0, untilEmpty: true)
        }
        if interrupted { throw CommandError.interrupted(command.argv[0]) }
        let raw = status ?? 0
        let termination: CommandResult.Termination =
            (raw & 0x7f) == 0 ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
        return CommandResult(
            termination: termination, stdout: session.out, stderr: session.err, truncated: session.truncated,
            duration: Monotonic.now() - start, timedOut: timedOut)
    }

    /// TERM to the group, up to `killGrace` seconds for it to go, then KILL.
    /// Returns the leader's wait status (nil if it never went away).
    private func terminate(group pid: pid_t) -> Int32? {
        _ = kill(-pid, SIGTERM)
        let termDeadline = Monotonic.now() + killGrace
        var status: Int32?
        while Monotonic.now() < termDeadline {
            if let s = Self.reap(pid) {
                status = s
                break
            }
            usleep(10_000)
        }
        // KILL even when the leader went: children it left in the group go too.
        _ = kill(-pid, SIGKILL)
        // A process in uninterruptible sleep (a hung disk) cannot die at once;
        // do not hang with it forever.
        let killDeadline = Monotonic.now() + 5
        while status == nil && Monotonic.now() < killDeadline {
            status = Self.reap(pid)
            if status == nil { usleep(10_000) }
        }
        return status
    }

    private static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return status }
        if r < 0 && errno == ECHILD { return 0 }
        return nil
    }

    /// The executable for a program name: a path as given, or the first match
    /// on PATH and then the system directories.
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = inherited["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + systemDirectories
        for dir in directories where !dir.isEmpty {
            let candidate = dir + "/" + program
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    private static func withCStrings<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// The pipes of one running command.
private struct Session {
    var fds: [Int32]  // stdout, stderr; -1 once closed
    var stdin: Int32
    /// A pidfd: readable once the process has exited (-1 if the kernel has none).
    var exit: Int32
    var input: [UInt8]
    var inputOffset = 0
    let limit: Int
    var out: [UInt8] = []
    var err: [UInt8] = []
    var truncated = false

    init(stdout: Int32, stderr: Int32, stdin: Int32, exit: Int32, input: [UInt8], limit: Int) {
        self.fds = [stdout, stderr]
        self.stdin = stdin
        self.exit = exit
        self.input = input
        self.limit = limit
        for fd in [stdout, stderr, stdin] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        if stdin >= 0 && input.isEmpty { closeStdin() }
    }

    /// Waits up to `waitMilliseconds` for any pipe, then moves what is ready.
    mutating func pump(waitMilliseconds: Int32, untilEmpty: Bool = false) {
        repeat {
            var polls: [pollfd] = []
            for fd in fds where fd >= 0 { polls.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            if stdin >= 0 { polls.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            if exit >= 0 && !untilEmpty { polls.append(pollfd(fd: exit, events: Int16(POLLIN), revents: 0)) }
            if polls.isEmpty {
                // No pidfd and the pipes are closed: check the process every millisecond.
                if waitMilliseconds > 0 { usleep(1000) }
                return
            }
            let ready = poll(&polls, nfds_t(polls.count), waitMilliseconds)
            if ready <= 0 { return }  // nothing, or EINTR: the caller checks for a stop
            var moved = false
            for p in polls where p.revents != 0 {
                if p.fd == exit {
                    continue  // exited: the caller reaps it
                } else if p.fd == stdin {
                    writeInput()
                    moved = true
                } else {
                    moved = readAvailable(p.fd) || moved
                }
            }
            if !moved { return }
        } while untilEmpty
    }

    private mutating func readAvailable(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            let isOut = fd == fds[0]
            let room = limit - (isOut ? out.count : err.count)
            if room < n { truncated = true }
            if room > 0 {
                let kept = buffer[0..<min(n, room)]
                if isOut { out.append(contentsOf: kept) } else { err.append(contentsOf: kept) }
            }
            return true
        }
        if n == 0 || (errno != EAGAIN && errno != EINTR) {
            if let i = fds.firstIndex(of: fd) {
                _ = close(fd)
                fds[i] = -1
            }
            return n == 0
        }
        return false
    }

    private mutating func writeInput() {
        let n = input[inputOffset...].withUnsafeBytes { write(stdin, $0.baseAddress, $0.count) }
        if n > 0 { inputOffset += n }
        if inputOffset >= input.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeStdin() }
    }

    private mutating func closeStdin() {
        if stdin >= 0 { _ = close(stdin) }
        stdin = -1
    }

    mutating func closeAll() {
        for fd in fds + [exit] where fd >= 0 { _ = close(fd) }
        fds = [-1, -1]
        exit = -1
        closeStdin()
    }
}
