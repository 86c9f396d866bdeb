import Synchronization

/// Runs nothing: keeps every command it is given, in order, and answers each
/// with a result chosen by `respond` (by default, success with no output).
/// It serves `--dry-run` and the unit tests.
public final class RecordingRunner: CommandRunner {
    private let state = Mutex<[Command]>([])
    private let respond: @Sendable (Command) -> CommandResult

    public init(respond: @escaping @Sendable (Command) -> CommandResult = { _ in .exited(0) }) {
        self.respond = respond
    }

    public func run(_ command: Command) throws -> CommandResult {
        state.withLock { $0.append(command) }
        return respond(command)
    }

    /// The commands run so far, in order.
    public var commands: [Command] { state.withLock { $0 } }

    /// Their argument vectors.
    public var argvs: [[String]] { commands.map(\.argv) }
}
