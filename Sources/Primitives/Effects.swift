import Logging
import Synchronization

/// The one seam for what hanfs changes on a node besides running commands:
/// a signal to a process, a file removed, written or copied, a runtime
/// note, a link. Every primitive makes such a change through its node's
/// effects: in a run it is made; in a plan (`--dry-run`) it is said
/// ("would stop rpc.statd (pid 812)") and not made. Either way it is
/// recorded, for the plan's list and for tests. With the runner, which does
/// the same for commands, this is the whole switch between a run and a
/// plan; what primitives still ask `planning` for is only what a plan
/// cannot see (waiting for a daemon that was not started, checking a
/// result that was not made).
public final class Effects: Sendable {
    public let planning: Bool
    /// Whether the changes are kept (`changes`): always in a plan; in a run
    /// when asked (a test), not in a run that may last (the monitor).
    public let recording: Bool
    private let logger: Logger
    private let made = Mutex<[String]>([])
    private let assumed = Mutex<[String]>([])
    private let generated = Mutex<[(path: String, text: String)]>([])

    public init(planning: Bool, logger: Logger, recording: Bool? = nil) {
        self.planning = planning
        self.recording = recording ?? planning
        self.logger = logger
    }

    /// Makes a change, or in a plan says it and returns `planned`.
    @discardableResult
    public func change<T>(_ what: String, planned: @autoclosure () -> T, _ body: () throws -> T) rethrows -> T {
        if recording { made.withLock { $0.append(what) } }
        guard !planning else {
            logger.info("would \(what)")
            return planned()
        }
        return try body()
    }

    /// A change that returns nothing.
    public func change(_ what: String, _ body: () throws -> Void) rethrows {
        try change(what, planned: (), body)
    }

    /// In a plan, what it takes for granted where the node is not yet as
    /// the run would find it (a volume group this node does not see yet):
    /// said, so that the plan's reader knows what it rests on.
    public func assume(_ what: String) {
        guard planning, !assumed.withLock({ $0.contains(what) }) else { return }
        logger.info("assuming \(what)")
        assumed.withLock { $0.append(what) }
    }

    /// A file hanfs writes whole (NFS-Ganesha's configuration): kept, when
    /// recording, so that a plan shows it.
    public func generate(_ path: String, _ text: String) {
        if recording { generated.withLock { $0.append((path, text)) } }
    }

    /// Changes made, logged under hanfs's label: for a primitive used alone.
    public static var live: Effects { Effects(planning: false, logger: Logger(label: "hanfs")) }

    /// Every change made (or, in a plan, that would be), in order, when recording.
    public var changes: [String] { made.withLock { $0 } }
    /// What a plan assumed, in order.
    public var assumptions: [String] { assumed.withLock { $0 } }
    /// The files written whole (or that would be), in order, when recording.
    public var files: [(path: String, text: String)] { generated.withLock { $0 } }
}
