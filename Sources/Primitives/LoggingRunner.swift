import Logging

/// Logs every command another runner runs: its argv, how it ended, how long it
/// took, and the tail of its stderr when it failed. Every primitive's runner
/// is wrapped in one, so nothing runs unlogged.
public struct LoggingRunner: CommandRunner {
    public let base: any CommandRunner
    public let logger: Logger
    /// Log as a plan ("would run") rather than as something that happened.
    public let planning: Bool

    public init(_ base: any CommandRunner, logger: Logger, planning: Bool = false) {
        self.base = base
        self.logger = logger
        self.planning = planning
    }

    public func run(_ command: Command) throws -> CommandResult {
        if let why = command.unrepresentable {
            let error = CommandError.unrepresentable(command.argv[0], why)
            logger.error("refused to run: \(command): \(why)")
            throw error
        }
        var metadata: Logger.Metadata = ["event": "command", "argv": .array(command.argv.map { .string($0) })]
        if planning && !command.readOnly {
            logger.info("would run: \(command)", metadata: metadata)
            return try base.run(command)
        }
        let result: CommandResult
        do {
            result = try base.run(command)
        } catch {
            metadata["error"] = "\(error)"
            logger.error("could not run: \(command): \(error)", metadata: metadata)
            throw error
        }
        if command.background {
            metadata["status"] = "started in the background"
            logger.info("started in the background: \(command) (it stops within \(CommandResult.seconds(command.timeout)))", metadata: metadata)
            return result
        }
        metadata["status"] = "\(result.summary)"
        if let code = result.exitCode { metadata["exit_status"] = "\(code)" }
        if case .signaled(let signal) = result.termination { metadata["signal"] = "\(signal)" }
        if result.timedOut { metadata["timed_out"] = "true" }
        metadata["duration_ms"] = "\(Int((result.duration * 1000).rounded()))"
        if result.succeeded || command.failureIsAnswer {
            logger.info("ran: \(command) (\(result.summary), \(CommandResult.seconds(result.duration)))", metadata: metadata)
        } else {
            let tail = result.stderrTail()
            if !tail.isEmpty { metadata["stderr"] = "\(tail)" }
            let detail = tail.isEmpty ? "" : ": \(tail)"
            logger.warning(
                "ran: \(command) (\(result.summary), \(CommandResult.seconds(result.duration)))\(detail)",
                metadata: metadata)
        }
        return result
    }
}
