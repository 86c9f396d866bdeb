import Synchronization

/// The step a control script is in (`set_step`), for the package log.
public final class StepTracker: Sendable {
    private let current = Mutex<String?>(nil)
    public init() {}
    public var step: String? { current.withLock { $0 } }
    func set(_ step: String?) { current.withLock { $0 = step } }
}
