import Synchronization

/// What a control script tells hanfs as it runs: the step it is in
/// (`set_step`), for the package log; the undos that failed
/// (`undo_failed`), for the cluster manager: a start whose steps were all
/// undone may be tried on another node, one that left something behind may
/// not; and a result (`set_result`), such as the monitor's "not running".
public final class RunReport: Sendable {
    private let current = Mutex<String?>(nil)
    private let failedUndos = Mutex<[String]>([])
    private let answer = Mutex<String?>(nil)
    public init() {}
    public var step: String? { current.withLock { $0 } }
    func set(_ step: String?) { current.withLock { $0 = step } }
    /// The titles of the steps whose undo failed.
    public var undoFailures: [String] { failedUndos.withLock { $0 } }
    func undoFailed(_ title: String) { failedUndos.withLock { $0.append(title) } }
    /// What the script said it found, if it said.
    public var result: String? { answer.withLock { $0 } }
    func setResult(_ value: String?) { answer.withLock { $0 = value } }
}
