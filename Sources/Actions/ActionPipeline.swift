import Foundation
import HostBindings
import Logging
import LuaRuntime
import PackageConfig
import Primitives

/// The one way hanfs runs an action, whichever front end asked:
///
///     load → lock → log → host → run → undo → marker → outcome
///
/// load: the package file, checked (nothing runs when it is wrong);
/// lock: the package's lock, for start and stop; log: the package's log
/// file; host: a Lua state with the primitives and `pkg`; run: the script,
/// under its deadline and memory limit; undo: what a run stopped from
/// outside (deadline, Ctrl-C, SIGTERM) had done; marker: a start marks the
/// package started here, a stop clears it. The outcome is one value the
/// front end turns into its exit status and messages.
public struct ActionPipeline {
    public let context: HanfsContext
    /// Made when used: logging is set up by the pipeline itself (startLogging).
    var log: Logger { Logger(label: LogLabel.host) }

    /// Seconds the undo of a stopped start may take.
    public static let rollbackDeadline = 300.0
    /// The runtime note of a start or stop under way.
    public static let unfinishedKey = "unfinished"

    public init(_ context: HanfsContext) { self.context = context }

    public func perform(_ action: Action) -> ActionRun {
        let report = RunReport()
        var plan: DryRun?
        let outcome = perform(action, report: report, plan: &plan)
        return ActionRun(outcome: outcome, dryRun: plan, report: report)
    }

    private func perform(_ action: Action, report: RunReport, plan: inout DryRun?) -> ActionOutcome {
        let package: PackageConfiguration?
        switch load(action) {
        case .success(let p): package = p
        case .failure(let outcome):
            context.startLogging(nil)
            return outcome
        }
        guard let path = context.installation.findScript(action.script) else {
            context.startLogging(nil)
            return .notInstalled(
                "\(action.script): no such script (looked in \(context.installation.scriptDirectories.joined(separator: ", ")))")
        }
        let lock: PackageRuntime.Lock?
        switch prepare(action, package, report: report) {
        case .success(let l): lock = l
        case .failure(let outcome): return outcome
        }
        defer { lock?.release() }
        if let package, let lifecycle = action.lifecycle, !context.planning {
            let runtime = context.settings.runtime(package.name)
            if let failure = finishUnfinished(lifecycle, package, action) { return failure }
            try? runtime.write(Self.unfinishedKey, "\(action.script) by pid \(getpid()) at \(Timestamp.now(utc: true).iso)")
        }
        defer {
            if let package, action.lifecycle != nil, !context.planning {
                try? context.settings.runtime(package.name).write(Self.unfinishedKey, nil)
            }
        }
        return run(action, path: path, package: package, report: report, plan: &plan)
    }

    /// load: the package file, and the front end's own check of it.
    private func load(_ action: Action) -> Result<PackageConfiguration?, ActionOutcome> {
        guard let file = action.configPath else { return .success(nil) }
        return load(file).flatMap { package in
            action.check(package).map { .failure(.configuration([$0])) } ?? .success(package)
        }
    }

    /// A package file loaded and validated, or every mistake in it.
    public func load(_ file: String) -> Result<PackageConfiguration, ActionOutcome> {
        do throws(ConfigErrors) {
            return .success(try PackageLoader.load(file, installation: context.installation))
        } catch {
            return .failure(.configuration(error.errors.map { "\($0)" }))
        }
    }

    /// log and lock: the package log opened (logging starts either way),
    /// then the package's lock taken.
    private func prepare(_ action: Action, _ package: PackageConfiguration?, report: RunReport)
        -> Result<PackageRuntime.Lock?, ActionOutcome>
    {
        guard let package, action.writesPackageLog, !context.planning else {
            context.startLogging(nil)
            return .success(nil)
        }
        let target: PackageLogHandler.Target
        do {
            let syslog = package.syslog
                ? SyslogSink(package: package.name, facility: package.syslogFacility, identity: package.syslogIdentity,
                             socket: context.settings.syslogSocket)
                : nil
            target = try PackageLogHandler.Target(
                path: package.logPath(in: context.settings.logDirectory), action: action.script, steps: report,
                logDirectory: context.settings.logDirectory, syslog: syslog)
        } catch {
            context.startLogging(nil)
            return .failure(.failed("\(error)", report: "\(error)", undone: true))
        }
        context.startLogging(target)
        guard action.takesLock else { return .success(nil) }
        do {
            return .success(try context.settings.runtime(package.name).lock(action: action.script))
        } catch {
            log.error("\(error)")
            return .failure(.busy("\(error)"))
        }
    }

    /// A start or stop whose process was ended before it finished (the
    /// watchdog, KILL) leaves a note: a start first runs the stop script
    /// over what that start left, the exact reverse. Nil: go on.
    private func finishUnfinished(_ lifecycle: Action.Lifecycle, _ package: PackageConfiguration, _ action: Action)
        -> ActionOutcome?
    {
        guard let previous = context.settings.runtime(package.name).read(Self.unfinishedKey) else { return nil }
        log.warning("the \(previous) did not finish: its process was ended")
        guard lifecycle == .start, previous.hasPrefix("start ") else { return nil }
        guard let path = context.installation.findScript("stop") else {
            return .notInstalled("no stop.lua in \(context.installation.scriptDirectories.joined(separator: ", "))")
        }
        log.notice("undoing the unfinished start first (\(path))")
        let failure: ScriptError?
        do {
            let (host, _) = try makeHost(package, action, report: RunReport())
            failure = run(host, path: path, display: path, arguments: [],
                          limits: RunLimits(deadline: action.undoDeadline, memory: action.memoryLimit))
        } catch {
            failure = ScriptError(kind: .runtime, message: "\(error)")
        }
        guard let failure else { return nil }
        let why = "undoing the unfinished start failed: \(failure.message)"
        log.error("\(why)")
        return .failed(why, report: why, undone: false)
    }

    /// host, run, undo, marker.
    private func run(
        _ action: Action, path: String, package: PackageConfiguration?, report: RunReport, plan: inout DryRun?
    ) -> ActionOutcome {
        let host: ScriptHost
        let recorder: RecordingRunner?
        do {
            (host, recorder) = try makeHost(package, action, report: report)
        } catch {
            return .failed("\(error)", report: "\(error)", undone: true)
        }
        let what = package.map { "\(action.script) \($0.name)" } ?? action.script
        if let package, action.writesPackageLog {
            log.notice("\(what) on \(host.node.nodeName) (\(package.file), script \(path))", metadata: ["event": "action", "phase": "start"])
        }
        let started = Monotonic.now()
        let failure = run(
            host, path: path, display: action.display ?? path, arguments: action.arguments,
            limits: RunLimits(deadline: action.deadline, memory: action.memoryLimit))
        plan = recorder.map {
            DryRun(commands: $0.commands, changes: host.node.effects.changes, assumptions: host.node.effects.assumptions,
                   files: host.node.effects.files)
        }
        let took = CommandResult.seconds(Monotonic.now() - started)
        let ms: Logger.MetadataValue = "\(Int(((Monotonic.now() - started) * 1000).rounded()))"
        if let failure {
            if action.writesPackageLog {
                log.error("\(what) failed after \(took): \(failure.message)", metadata: ["event": "action", "phase": "failed", "duration_ms": ms])
            }
            let undone = undoStopped(host, failure, action) && report.undoFailures.isEmpty
            if let package { keepLast(action, of: package, succeeded: false, took: Monotonic.now() - started) }
            return .failed(failure.message, report: failure.report, undone: undone)
        }
        if let package, let lifecycle = action.lifecycle, !context.planning {
            let runtime = context.settings.runtime(package.name)
            do {
                switch lifecycle {
                case .start: try runtime.markStarted(node: host.node.nodeName)
                case .stop: try runtime.clearStarted()
                }
            } catch {
                let why = "cannot update \(runtime.markerPath): \(error)"
                log.error("\(why)")
                return .failed(why, report: why, undone: false)
            }
        }
        if let package { keepLast(action, of: package, succeeded: true, took: Monotonic.now() - started) }
        if action.writesPackageLog { log.notice("\(what) done in \(took)", metadata: ["event": "action", "phase": "done", "duration_ms": ms]) }
        return .done(report.result)
    }

    /// A start's or stop's result on this node, for `hanfs status --json`
    /// and its metrics: `last-start` ("done|failed EPOCH SECONDS"), and the
    /// counts `count-start-done`, `count-start-failed`, ..., `count-takeover`.
    /// Kept in the runtime directory (gone after a reboot); a note that
    /// cannot be written is logged, never fails the action.
    private func keepLast(_ action: Action, of package: PackageConfiguration, succeeded: Bool, took: Double) {
        guard let lifecycle = action.lifecycle, !context.planning else { return }
        let runtime = context.settings.runtime(package.name)
        let name = lifecycle == .start ? "start" : "stop"
        let result = succeeded ? "done" : "failed"
        var counts = ["count-\(name)-\(result)"]
        if lifecycle == .start && succeeded && action.takeover { counts.append("count-takeover") }
        do {
            try runtime.write("last-\(name)", "\(result) \(Date().timeIntervalSince1970) \(took)")
            for key in counts { try runtime.write(key, String((runtime.read(key).flatMap { Int($0) } ?? 0) + 1)) }
        } catch {
            log.warning("cannot keep the \(name)'s result on this node: \(error)")
        }
    }

    /// undo: a script stopped from outside could not undo its own steps;
    /// they are undone here, with a fresh time limit. False: that failed.
    private func undoStopped(_ host: ScriptHost, _ failure: ScriptError, _ action: Action) -> Bool {
        guard [.deadline, .interrupted].contains(failure.kind) else { return true }
        do {
            try host.abandonStoppedPlan(limits: RunLimits(deadline: action.undoDeadline))
            return true
        } catch {
            log.error("undoing the stopped \(action.script) failed: \(error.message)")
            return false
        }
    }

    /// A host with the context's runner, or a recording one in a dry run
    /// (which still runs the commands that only look, to plan from what is there).
    /// Loads the site's hooks for a package in a plan (nothing they call is
    /// run), as `hanfs validate` checks them: the files loaded, or the
    /// mistake, by file and line, as a configuration error.
    public func checkHooks(_ package: PackageConfiguration) -> Result<[String], ActionOutcome> {
        var planning = context
        planning.planning = true
        do {
            let (host, _) = try ActionPipeline(planning).makeHost(package, Action(script: "validate"), report: RunReport())
            try host.loadHooks(limits: RunLimits(deadline: 30, memory: 64 << 20))
            return .success(host.hookFiles)
        } catch let error as ScriptError {
            return .failure(.configuration(["site hooks: \(error.message)"]))
        } catch {
            return .failure(.configuration(["site hooks: \(error)"]))
        }
    }

    /// A host for the REPL: the context's runner, the package as `pkg`.
    public func host(package: PackageConfiguration?) throws -> ScriptHost {
        try makeHost(package, Action(script: "repl"), report: RunReport()).0
    }

    func makeHost(_ package: PackageConfiguration?, _ action: Action, report: RunReport) throws
        -> (ScriptHost, RecordingRunner?)
    {
        let recorder = context.planning ? RecordingRunner(inspecting: context.runner ?? ProcessRunner()) : nil
        let host = try ScriptHost(
            installation: context.installation, runner: recorder ?? context.runner, planning: context.planning,
            package: package, settings: context.settings, hanfs: context.hanfsBinary, steps: report)
        host.setParts(
            storage: !action.clusterManagerDoesStorageAndAddresses, addresses: !action.clusterManagerDoesStorageAndAddresses,
            takeover: action.takeover)
        try context.extendHost?(host)
        return (host, recorder)
    }

    /// Runs a script, with Ctrl-C and SIGTERM stopping it when the context catches them.
    private func run(_ host: ScriptHost, path: String, display: String, arguments: [String], limits: RunLimits)
        -> ScriptError?
    {
        if context.catchesSignals { Signals.catchInterrupts(true) }
        defer { if context.catchesSignals { Signals.catchInterrupts(false) } }
        do {
            try host.loadHooks(limits: limits)
            try host.runScript(path, display: display, arguments: arguments, limits: limits)
            return nil
        } catch {
            return error
        }
    }
}
