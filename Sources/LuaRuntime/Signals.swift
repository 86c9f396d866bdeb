import LuaBoundary

/// SIGINT and SIGTERM while a script runs: caught, they stop the script (and
/// the command it waits for) with an "interrupted" error instead of killing
/// hanfs and leaving its commands behind.
public enum Signals {
    public static func catchInterrupts(_ enable: Bool) { lb_catch_signals(enable ? 1 : 0) }
    /// The signal caught since the last clear, or 0.
    public static var pending: Int32 { lb_signal_pending() }
    public static func clear() { lb_clear_signal() }
}
