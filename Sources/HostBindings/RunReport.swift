import Synchronization

/// What a control script tells hanfs as it runs: the step it is in
/// (`set_step`), for the package log; the undos that failed
/// (`undo_failed`), for the cluster manager: a start whose steps were all
/// undone may be tried on another node, one that left something behind may
/// not; and what it found (`set_result`): the monitor's "running" or "not running".
public final class RunReport: Sendable {
    private let current = Mutex<String?>(nil)
    private let failedUndos = Mutex<[String]>([])
    private let answer = Mutex<PackageState?>(nil)
    public init() {}
    public var step: String? { current.withLock { $0 } }
    func set(_ step: String?) { current.withLock { $0 = step } }
    /// The titles of the steps whose undo failed.
    public var undoFailures: [String] { failedUndos.withLock { $0 } }
    func undoFailed(_ title: String) { failedUndos.withLock { $0.append(title) } }
    /// What the script said it found, if it said.
    public var result: PackageState? { answer.withLock { $0 } }
    func setResult(_ value: PackageState?) { answer.withLock { $0 = value } }
}

/// What a script found the package to be (`set_result`).
public enum PackageState: String, Sendable, CaseIterable {
    case running
    case notRunning = "not running"
}
