import HostBindings
import Primitives

/// Everything an action needs to know about where and how it runs, built
/// once by the front end (the command line, Serviceguard, the OCF agent, a
/// test) and passed down. Nothing below the front ends reads the process
/// environment or a global: what they need is here.
public struct HanfsContext: Sendable {
    /// Who this node is; its run and log directories. Its `environment` is
    /// what hanfs processes started in the background get.
    public var settings: NodeSettings
    /// Where the scripts and the stdlib are (the site's first).
    public var installation: Installation
    /// `--dry-run`: commands that change something are recorded, not run,
    /// and the plan is returned with the outcome.
    public var planning: Bool
    /// The hanfs binary, which primitives start for work that outlives a
    /// call (`announce`, `flm`, the monitor, the statd callout).
    public var hanfsBinary: String
    /// The commands' runner; nil: the real one (stopped by the script's
    /// deadline, Ctrl-C or SIGTERM). Tests give a recording one.
    public var runner: (any CommandRunner)?
    /// Called once per action before anything is logged: with the package's
    /// log when the action writes one (the front end sets up its handlers).
    public var startLogging: @Sendable (PackageLogHandler.Target?) -> Void
    /// Primitives a front end adds or replaces after hanfs's own, before the
    /// hooks and the script (the in-process tests' recorders).
    public var extendHost: (@Sendable (ScriptHost) throws -> Void)?
    /// Whether the run catches Ctrl-C and SIGTERM to stop the script (a
    /// process running one action does; an in-process test does not).
    public var catchesSignals: Bool

    public init(
        settings: NodeSettings, installation: Installation, planning: Bool = false,
        hanfsBinary: String = ScriptHost.hanfsBinary, runner: (any CommandRunner)? = nil,
        catchesSignals: Bool = true,
        startLogging: @escaping @Sendable (PackageLogHandler.Target?) -> Void = { _ in }
    ) {
        self.settings = settings
        self.installation = installation
        self.planning = planning
        self.hanfsBinary = hanfsBinary
        self.runner = runner
        self.catchesSignals = catchesSignals
        self.startLogging = startLogging
    }
}
