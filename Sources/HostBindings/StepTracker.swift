import Synchronization

/// The step a control script is in (`set_step`), for the package log; and
/// the undos that failed (`undo_failed`), for the cluster manager: a start
/// whose steps were all undone may be tried on another node, one that left
/// something behind may not.
public final class StepTracker: Sendable {
    private let current = Mutex<String?>(nil)
    private let failedUndos = Mutex<[String]>([])
    public init() {}
    public var step: String? { current.withLock { $0 } }
    func set(_ step: String?) { current.withLock { $0 = step } }
    /// The titles of the steps whose undo failed.
    public var undoFailures: [String] { failedUndos.withLock { $0 } }
    func undoFailed(_ title: String) { failedUndos.withLock { $0.append(title) } }
}
