import Foundation
import Logging
import LuaRuntime
import Primitives

extension Bindings {
    /// run, log, print: what every script has, with or without a package.
    var basics: BindingDomain {
        let runner = node.runner
        let scriptLog = Logger(label: LogLabel.script)
        let printLog = Logger(label: LogLabel.print)
        var bindings = [
            Binding(
                "run", "run{\"prog\", \"arg\", ..., timeout=60, check=true, input=\"...\", env={K=\"v\"}}",
                """
                Runs a command: an argv, never a shell string. The program is looked up on PATH and then in the sbin \
                directories. Returns `{ok, status, signal, stdout, stderr, duration, timed_out, truncated}`. With \
                `check=true` (the default), a failure raises `run: prog exited with status 2: <stderr tail>`. With \
                `check=false` it returns the result, and a missing program gives `{ok=false, error=...}`. With \
                `probe=true` a failure is an answer (a tool asked for its version that exits 1), logged as info, not \
                as a warning. Past its \
                timeout the command's whole process group gets TERM, then KILL 2 s later. Commands run with `LC_ALL=C`.
                """
            ) { call in
                let options = try RunOptions(call, defaultTimeout: ScriptHost.defaultCommandTimeout)
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
            },
        ]
        let levels: [(String, Logger.Level)] = [("debug", .debug), ("info", .info), ("warn", .warning), ("error", .error)]
        for (name, level) in levels {
            bindings.append(Binding("log.\(name)", "log.\(name)(...)", "Writes to the log at level \(name), with the script's `file:line`.") { call in
                var metadata: Logger.Metadata = [:]
                if let at = call.callerPosition { metadata["at"] = "\(at)" }
                scriptLog.log(level: level, "\(call.joinedArguments(separator: " "))", metadata: metadata)
                return 0
            })
        }
        bindings.append(Binding("print", "print(...)", "Writes to stdout, as Lua's `print` does.") { call in
            printLog.notice("\(call.joinedArguments())")
            return 0
        })
        return BindingDomain(title: "Commands and the log", intro: "", bindings: bindings)
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

/// The argument of `run{"prog", "arg", ..., timeout=N, check=true, input="", env={}}`.
struct RunOptions {
    var command: Command
    let check: Bool

    static let known: Set<String> = ["timeout", "check", "input", "env", "probe"]

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
        switch try t["probe"] {
        case .nil: break
        case .boolean(let b): command.failureIsAnswer = b
        case let v: throw t.badField("probe", "boolean expected, got \(v.typeName)")
        }
    }
}
