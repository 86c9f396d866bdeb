import Synchronization

/// Runs nothing: keeps every command it is given, in order, and answers each
/// with a result chosen by `respond` (by default, success with no output).
/// It serves `--dry-run` and the unit tests. With `inspecting`, commands that
/// only look (`readOnly`) run there for real and are not kept: a dry run
/// plans from the node's real state.
public final class RecordingRunner: CommandRunner {
    private let state = Mutex<[Command]>([])
    private let respond: @Sendable (Command) -> CommandResult
    private let inspecting: (any CommandRunner)?

    public init(
        inspecting: (any CommandRunner)? = nil,
        respond: @escaping @Sendable (Command) -> CommandResult = { _ in .exited(0) }
    ) {
        self.inspecting = inspecting
        self.respond = respond
    }

    public func run(_ command: Command) throws -> CommandResult {
        if command.readOnly, let inspecting { return try inspecting.run(command) }
        state.withLock { $0.append(command) }
        return respond(command)
    }

    /// The commands run so far, in order.
    public var commands: [Command] { state.withLock { $0 } }

    /// Their argument vectors.
    public var argvs: [[String]] { commands.map(\.argv) }
}
