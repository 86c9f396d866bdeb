import Foundation

/// A hanfs process that runs beside the package (the holding-directory sync,
/// the monitor), known by its argument vector: started in the background,
/// found again by any later run on this node, stopped with TERM, then KILL.
/// There is no pid file to go stale: what runs is what /proc shows.
public struct BackgroundService: Sendable {
    /// What it is, for the log: "the sync into /nfs/sm", "the monitor of nfspkg".
    public let name: String
    /// The command that starts it.
    public let argv: [String]
    /// Whether a process's argument vector is this service's.
    public let matches: @Sendable ([String]) -> Bool

    public init(name: String, argv: [String], matches: @escaping @Sendable ([String]) -> Bool) {
        self.name = name
        self.argv = argv
        self.matches = matches
    }

    /// Its processes on this node (this network namespace).
    public var processes: [Int32] { ProcessTable.matching(matches) }

    /// Starts it unless it runs; with `ready`, waits (up to `within`
    /// seconds) until one of its processes is ready.
    public func start(_ node: NodeContext, within: Double = 5, ready: (@Sendable (Int32) -> Bool)? = nil) throws -> Outcome {
        if !processes.isEmpty { return .already }
        _ = try node.runner.run(Command(argv, timeout: 5, environment: node.settings.environment, background: true))
        guard !node.planning, let ready else { return .done }
        let until = Monotonic.now() + within
        while !processes.contains(where: ready) {
            guard Monotonic.now() < until else { throw PrimitiveError("\(name) was not ready within \(within) s") }
            usleep(5_000)
        }
        return .done
    }

    /// Stops it: TERM, and KILL for what is left after `timeout` seconds.
    public func stop(_ node: NodeContext, timeout: Double = 10) -> Outcome {
        let running = processes
        if running.isEmpty { return .already }
        let pids = running.map(String.init).joined(separator: ", ")
        node.effects.change("stop \(name) (pid \(pids))") {
            for pid in running { kill(pid, SIGTERM) }
            let until = Monotonic.now() + timeout
            while !processes.isEmpty && Monotonic.now() < until { usleep(20_000) }
            for pid in processes {
                kill(pid, SIGKILL)
                node.logger.warning("\(name) (pid \(pid)) did not stop on TERM: killed")
            }
            node.logger.info("stopped \(name) (pid \(pids))")
        }
        return .done
    }
}
