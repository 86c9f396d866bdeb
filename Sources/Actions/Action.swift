import HostBindings
import PackageConfig
import Primitives

/// One thing hanfs is asked to do: a control script run on a package
/// (start, stop, the monitor, lock migration, validate, status) or any
/// script (`hanfs run`). Every front end describes its request as an
/// Action and hands it to ActionPipeline.
public struct Action {
    /// The script: a name looked up in the site's then the shipped scripts, or a path.
    public var script: String
    /// How messages name the script; nil: the path it was found at.
    public var display: String?
    /// The package file; nil: the script runs without a package.
    public var configPath: String?
    /// Seconds the script may run; nil: no limit.
    public var deadline: Double?
    /// Bytes of Lua memory before the run is stopped.
    public var memoryLimit = 512 << 20
    /// Whether the run holds the package's lock (start, stop: one at a time).
    public var takesLock = false
    /// Whether the run writes the package's log file.
    public var writesPackageLog = false
    /// Start and stop keep the package's marker (started here, or not) and
    /// note while they run that they have not finished.
    public var lifecycle: Lifecycle?
    /// Arguments the script gets (`arg`, `...`).
    public var arguments: [String] = []
    /// What the cluster manager does itself (see ScriptHost.setParts).
    public var clusterManagerDoesStorageAndAddresses = false
    /// The other node is down: fenced by the cluster manager that runs this
    /// (the OCF agent), or made sure of by the operator (`--takeover`). A
    /// volume group it still holds is taken over; otherwise a start refuses it.
    public var takeover = false
    /// Seconds the undo of a run stopped from outside may take.
    public var undoDeadline = ActionPipeline.rollbackDeadline
    /// A further check of the loaded package: a problem with it, or nil.
    public var check: (PackageConfiguration) -> String? = { _ in nil }

    public enum Lifecycle: Sendable { case start, stop }

    public init(script: String, configPath: String? = nil, deadline: Double? = nil) {
        self.script = script
        self.configPath = configPath
        self.deadline = deadline
    }

    /// A control script on a package, as `hanfs start|stop|monitor|...` and
    /// the cluster managers run it: logged to the package log; start and
    /// stop under the package's lock, keeping its marker.
    public static func onPackage(_ script: String, config: String, deadline: Double?, takesLock: Bool) -> Action {
        var action = Action(script: script, configPath: config, deadline: deadline)
        action.takesLock = takesLock
        action.writesPackageLog = true
        action.lifecycle = takesLock ? (script == "start" ? .start : script == "stop" ? .stop : nil) : nil
        return action
    }
}

/// How an action ended; each front end (the plain commands, Serviceguard,
/// Pacemaker) says it in its own exit status.
public enum ActionOutcome: Error, Equatable, Sendable {
    /// The script succeeded; what it found, if it said.
    case done(PackageState?)
    /// The package file is wrong: nothing ran (every mistake is listed).
    case configuration([String])
    /// Something hanfs needs is not on this node (a script, a tool).
    case notInstalled(String)
    /// Another start or stop of the package holds its lock.
    case busy(String)
    /// The script failed (`report`: with its traceback); `undone`: every
    /// step it had done was undone.
    case failed(String, report: String, undone: Bool)

    /// One line saying why it did not succeed.
    public var reason: String? {
        switch self {
        case .done: nil
        case .configuration(let errors): errors.first.map { errors.count > 1 ? "\($0) (and \(errors.count - 1) more)" : $0 }
        case .notInstalled(let why), .busy(let why), .failed(let why, _, _): why
        }
    }

    /// What the front end writes on stderr, one message per element.
    public var messages: [String] {
        switch self {
        case .done: []
        case .configuration(let errors): errors
        case .notInstalled(let why), .busy(let why): [why]
        case .failed(_, let report, _): [report]
        }
    }
}

/// What a dry run would have done: its commands, its other changes
/// (Effects), what it assumed of a node not yet as a run would find it, and
/// the files it would write whole.
public struct DryRun: Sendable {
    public var commands: [Command]
    public var changes: [String]
    public var assumptions: [String]
    public var files: [(path: String, text: String)]
}

/// An action's outcome, with the dry run's plan when it was one.
public struct ActionRun {
    public let outcome: ActionOutcome
    /// The dry run; nil: not one, or it ended before a script ran.
    public let dryRun: DryRun?
    /// The commands a dry run would have run, in order.
    public var plan: [Command]? { dryRun?.commands }
    /// The changes besides commands a dry run would have made (Effects), in order.
    public var changes: [String]? { dryRun?.changes }
    /// What the script reported as it ran (its step, the undos that failed).
    public let report: RunReport
}
