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
        registerBasics()
        registerPackagePrimitives(defaults: package ?? PackageConfiguration(), hanfs: hanfs)
        if let package {
            try lua.set("pkg", PackageTable.table(package, settings: settings))
            leaveToClusterManager(storage: false, addresses: false)
        }
        let steps = self.steps
        let stepLog = Logger(label: LogLabel.host)
        lua.register("set_step") { call in
            let step = call.optionalString(1, converting: false)
            steps.set(step)
            if let step { stepLog.info("step: \(step)") }
            return 0
        }
        lua.register("set_result") { call in
            guard let text = call.optionalString(1, converting: false) else {
                steps.setResult(nil)
                return 0
            }
            guard let state = PackageState(rawValue: text) else {
                throw ArgumentError(
                    position: 1, "\"\(text)\": one of \(PackageState.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) expected")
            }
            steps.setResult(state)
            return 0
        }
        lua.register("undo_failed") { call in
            steps.undoFailed(try call.string(1))
            return 0
        }
        lua.register("stopping") { call in try call.push(.boolean(stop.isSet)) }
        lua.register("package_started") { call in
            guard let package else { throw HostError("no package loaded (--config)") }
            return try call.push(settings.runtime(package.name).marker.map { .string($0) } ?? .boolean(false))
        }
        // The package's notes on this node (PackageRuntime): runtime_read(key), runtime_write(key, value or nil).
        func runtime(_ call: LuaCall) throws -> (PackageRuntime, String) {
            guard let package else { throw HostError("no package loaded (--config)") }
            let key = try call.string(1)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), key != "lock" else {
                throw HostError("runtime key \"\(key)\": letters, digits, - and _ only (not lock)")
            }
            return (settings.runtime(package.name), key)
        }
        lua.register("runtime_read") { call in
            let (runtime, key) = try runtime(call)
            return try call.push(runtime.read(key).map { .string($0) } ?? .nil)
        }
        let node = self.node
        lua.register("runtime_write") { call in
            let (runtime, key) = try runtime(call)
            let value = call.optionalString(2, converting: true)
            if node.planning {
                node.logger.info("would write \(runtime.path(key))")
                return 0
            }
            do { try runtime.write(key, value) } catch let e as PrimitiveError { throw HostError(e.description) }
            return 0
        }
    }

    /// Which parts of the package the control scripts leave alone because
    /// the cluster manager does them (Serviceguard activates the VGs, mounts
    /// the file systems and adds the addresses before its external script
    /// runs, and takes them down after): `parts.storage` and
    /// `parts.addresses` are false for those.
    public func leaveToClusterManager(storage: Bool, addresses: Bool) {
        try? lua.set("parts", .table(LuaTable(fields: ["storage": .boolean(!storage), "addresses": .boolean(!addresses)])))
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

    /// Runs a script file with arguments; `display` is how messages name it.
    public func runScript(_ path: String, display: String? = nil, arguments: [String] = [], limits: RunLimits)
        throws(ScriptError)
    {
        try lua.runFile(path, chunkName: display, arguments: arguments, limits: limits)
    }

    // MARK: the basic primitives: run, log, print

    private func registerBasics() {
        let runner = self.runner
        let scriptLog = Logger(label: LogLabel.script)
        let printLog = Logger(label: LogLabel.print)
        let defaultTimeout = Self.defaultCommandTimeout

        lua.register("run") { call in
            let options = try RunOptions(call, defaultTimeout: defaultTimeout)
            let result: CommandResult
            do {
                result = try runner.run(options.command)
            } catch let error as CommandError where !options.check && error != .interrupted(options.command.argv[0]) {
                // check=false: "tell me, do not raise", also for a program that is not there.
                return try call.push(.table(LuaTable(fields: ["ok": false, "error": .string("\(error)")])))
            }
            if options.check && !result.succeeded {
                let tail = result.stderrTail()
                throw HostError("\(options.command.argv[0]) \(result.summary)" + (tail.isEmpty ? "" : ": \(tail)"))
            }
            return try call.push(.table(Self.table(result)))
        }

        let levels: [(String, Logger.Level)] = [("debug", .debug), ("info", .info), ("warn", .warning), ("error", .error)]
        for (name, level) in levels {
            lua.register("log.\(name)") { call in
                var metadata: Logger.Metadata = [:]
                if let at = call.callerPosition { metadata["at"] = "\(at)" }
                scriptLog.log(level: level, "\(call.joinedArguments(separator: " "))", metadata: metadata)
                return 0
            }
        }
        lua.register("print") { call in
            printLog.notice("\(call.joinedArguments())")
            return 0
        }
    }

    static func table(_ r: CommandResult) -> LuaTable {
        var t = LuaTable()
        t["ok"] = .boolean(r.succeeded)
        t["status"] = r.exitCode.map { .integer(Int64($0)) } ?? .nil
        if case .signaled(let s) = r.termination { t["signal"] = .integer(Int64(s)) }
        t["stdout"] = .string(r.stdoutText)
        t["stderr"] = .string(r.stderrText)
        t["duration"] = .number(r.duration)
        t["timed_out"] = .boolean(r.timedOut)
        t["truncated"] = .boolean(r.truncated)
        return t
    }
}

/// Lets a runner see whether the script should stop. Weak: the state owns
/// the runner (through its host functions), not the other way round.
final class StopSignal: @unchecked Sendable {
    private weak var lua: LuaState?
    init(_ lua: LuaState) { self.lua = lua }
    var isSet: Bool { lua?.shouldStop ?? false }
}

/// The argument of `run{"prog", "arg", ..., timeout=N, check=true, input="", env={}}`.
struct RunOptions {
    let command: Command
    let check: Bool

    static let known: Set<String> = ["timeout", "check", "input", "env"]

    init(_ call: LuaCall, defaultTimeout: Double) throws {
        guard call.count == 1, let t = try? call.table(1) else {
            throw HostError("takes one table: run{\"program\", \"arg\", ..., timeout=seconds} (argv, never a shell string)")
        }
        if let unknown = t.keys.first(where: { !Self.known.contains($0) }) {
            throw t.badField(unknown, "unknown option; known: \(Self.known.sorted().joined(separator: ", "))")
        }
        guard t.count > 0 else { throw HostError("no program given") }
        var argv: [String] = []
        for i in 1...t.count {
            switch try t[i] {
            case .string(let s): argv.append(s)
            case .integer(let n): argv.append(String(n))
            case .number(let d): argv.append(String(d))
            case let v: throw ArgumentError(position: 1, "argv[\(i)]: string expected, got \(v.typeName)")
            }
        }
        var timeout = defaultTimeout
        switch try t["timeout"] {
        case .nil: break
        case .integer(let n) where n > 0: timeout = Double(n)
        case .number(let d) where d > 0 && d.isFinite: timeout = d
        case let v: throw t.badField("timeout", "positive number of seconds expected, got \(v.typeName)")
        }
        switch try t["check"] {
        case .nil: check = true
        case .boolean(let b): check = b
        case let v: throw t.badField("check", "boolean expected, got \(v.typeName)")
        }
        var input: [UInt8]?
        switch try t["input"] {
        case .nil: break
        case .string(let s): input = Array(s.utf8)
        case let v: throw t.badField("input", "string expected, got \(v.typeName)")
        }
        var environment: [String: String] = [:]
        switch try t["env"] {
        case .nil: break
        case .table(let e) where e.array.isEmpty:
            for (k, v) in e.fields {
                guard let s = v.stringValue else { throw t.badField("env", "'\(k)' must be a string") }
                environment[k] = s
            }
        case let v: throw t.badField("env", "table of strings expected, got \(v.typeName)")
        }
        command = Command(argv, timeout: timeout, environment: environment, input: input)
    }
}
