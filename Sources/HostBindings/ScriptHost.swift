import Foundation
import Logging
import PackageConfig
import LuaRuntime
import Primitives

/// The labels hanfs logs under. The console handler prints `print` plainly.
public enum LogLabel {
    public static let host = "hanfs"
    public static let script = "hanfs.script"
    public static let print = "hanfs.print"
}

/// A Lua state with the host primitives in it, ready to run control scripts.
public final class ScriptHost {
    public let lua: LuaState
    public let installation: Installation
    /// What every primitive runs commands through (already logging).
    public let runner: any CommandRunner
    public let logger = Logger(label: LogLabel.host)
    /// Seconds a command may run when the script does not say.
    public static let defaultCommandTimeout = 60.0
    /// What the package primitives work with.
    public let node: NodeContext
    /// The package the scripts act on (`pkg`), if one was loaded.
    public let package: PackageConfiguration?
    /// The step the script is in, for the package log.
    public let steps: RunReport
    /// Every primitive registered, with its documentation (`help`).
    public private(set) var primitives: [PrimitiveDoc] = []

    /// `runner` nil: real commands, stopped by the script's deadline, Ctrl-C
    /// or a cancel. `planning`: the runner only records (dry run).
    /// `package`: its table is `pkg`, and its settings are the primitives'
    /// defaults. `hanfs`: the hanfs binary, which the primitives start for
    /// the work that outlives a call (`announce`, `flm`, the statd callout).
    public init(
        installation: Installation, runner: (any CommandRunner)? = nil, planning: Bool = false,
        package: PackageConfiguration? = nil, settings: NodeSettings = NodeSettings(),
        hanfs: String = ScriptHost.hanfsBinary, steps: RunReport = RunReport()
    ) throws {
        self.steps = steps
        let lua = try LuaState()
        self.lua = lua
        self.installation = installation
        let stop = StopSignal(lua)
        let base = runner ?? ProcessRunner(shouldStop: { stop.isSet })
        self.runner = LoggingRunner(base, logger: logger, planning: planning)
        self.node = NodeContext(
            runner: self.runner, logger: logger, planning: planning, settings: settings, shouldStop: { stop.isSet })
        self.package = package
        lua.setModuleDirectories(installation.moduleDirectories)
        primitives = try registerPrimitives(
            Bindings(node: node, package: package, hanfs: hanfs, installation: installation, steps: steps, stop: stop))
        if let package {
            try lua.set("pkg", PackageTable.table(package, settings: settings))
        }
        setParts()
    }

    /// What this run does of the package, as the scripts see it (`parts`).
    /// Serviceguard activates the VGs, mounts the file systems and adds the
    /// addresses before its external script runs, and takes them down after:
    /// `storage` and `addresses` are false there. `takeover`: the other node
    /// is down (the cluster manager fenced it, or the operator made sure of
    /// it with `--takeover`), so a VG it still holds is taken over.
    public func setParts(storage: Bool = true, addresses: Bool = true, takeover: Bool = false) {
        try? lua.set("parts", .table(LuaTable(fields: [
            "storage": .boolean(storage), "addresses": .boolean(addresses), "takeover": .boolean(takeover),
        ])))
    }

    /// After a run was stopped from outside (deadline, Ctrl-C, SIGTERM):
    /// undoes what the steps of the stopped plan had done (stdlib steps),
    /// within `limits`. A second signal stops this too.
    public func abandonStoppedPlan(limits: RunLimits) throws(ScriptError) {
        Signals.clear()
        try lua.run(
            "local steps = package.loaded.steps if steps and steps.abandon then steps.abandon() end",
            chunkName: "=abandon", limits: limits)
    }

    /// This very binary, `announce`.
    public static var hanfsBinary: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The site's hooks (stdlib/plan.lua): `site.lua` in the site directory,
    /// then the package's `hooks_file`.
    public var hookFiles: [String] {
        var files: [String] = []
        if let site = installation.siteDirectory, FileManager.default.fileExists(atPath: site + "/site.lua") {
            files.append(site + "/site.lua")
        }
        if let file = package?.hooksFile, !file.isEmpty { files.append(file) }
        return files
    }

    /// Runs the hook files, before a script: what they add to the plan, or
    /// the primitives they wrap, the script then finds.
    public func loadHooks(limits: RunLimits) throws(ScriptError) {
        for file in hookFiles {
            logger.debug("site hooks: \(file)")
            try lua.runFile(file, chunkName: file, limits: limits)
        }
    }

    /// Runs a script file with arguments; `display` is how messages name it.
    public func runScript(_ path: String, display: String? = nil, arguments: [String] = [], limits: RunLimits)
        throws(ScriptError)
    {
        try lua.runFile(path, chunkName: display, arguments: arguments, limits: limits)
    }
}

/// Lets a runner see whether the script should stop. Weak: the state owns
/// the runner (through its host functions), not the other way round.
final class StopSignal: @unchecked Sendable {
    private weak var lua: LuaState?
    init(_ lua: LuaState) { self.lua = lua }
    var isSet: Bool { lua?.shouldStop ?? false }
}
