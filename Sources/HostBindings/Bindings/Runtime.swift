import Foundation
import Logging
import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The run itself: the node, the package's marker and notes, and what
    /// the script tells hanfs (its step, its result, the undos that failed).
    var runtime: BindingDomain {
        BindingDomain(
            title: "The run", intro: "",
            bindings: [nodeName, packageStarted, setStep, stopping, undoFailed, setResult, runtimeRead, runtimeWrite, now, json, siteCopies])
    }

    private var siteCopies: Binding {
        Binding(
            "site_copies", "site_copies()",
            """
            The site directory's copies of shipped scripts and modules: `{file, site, shipped, state, version}`: \
            `state` being `current` (the shipped file is the one it was copied from), `behind` (the \
            shipped one changed since: an upgrade) or `unrecorded` (not copied by `hanfs customize`).
            """
        ) { call in
            try call.push(.table(LuaTable(array: installation.siteCopies().map { c in
                var t = LuaTable(fields: [
                    "file": .string(c.file), "site": .string(c.sitePath), "shipped": .string(c.shippedPath),
                    "state": .string(c.state.rawValue),
                ])
                if let from = c.copiedFrom { t["version"] = .string(from.version) }
                return .table(t)
            })))
        }
    }

    private var now: Binding {
        Binding("now", "now()", "Seconds since the epoch, with a fraction (what a note's time and a check's latency are counted in).") { call in
            try call.push(.number(Date().timeIntervalSince1970))
        }
    }

    private var json: Binding {
        Binding(
            "json", "json(value)",
            """
            The value as JSON text: a table with keys is an object (keys sorted), one with only 1..n an array, an \
            empty one `[]`; nil and numbers that are not finite are null.
            """
        ) { call in
            try call.push(.string(try wrap { try JSONText.encode(try call.value(1)) }))
        }
    }

    private var nodeName: Binding {
        Binding("node_name", "node_name()", "This node's name: its LVM host tag.") { call in
            try call.push(.string(node.nodeName))
        }
    }

    private var packageStarted: Binding {
        Binding("package_started", "package_started()", "The package's marker on this node (who started it, when), or false.") { call in
            let c = try requirePackage()
            return try call.push(node.settings.runtime(c.name).marker.map { .string($0) } ?? .boolean(false))
        }
    }

    private var setStep: Binding {
        let log = Logger(label: LogLabel.host)
        return Binding("set_step", "set_step(title)", "Names the step the script is in, for the package log.") { call in
            let step = call.optionalString(1, converting: false)
            steps.set(step)
            if let step { log.info("step: \(step)", metadata: ["event": "step"]) }
            return 0
        }
    }

    private var stopping: Binding {
        Binding("stopping", "stopping()", "Whether the run is being stopped (deadline, Ctrl-C, SIGTERM).") { call in
            try call.push(.boolean(stop.isSet))
        }
    }

    private var undoFailed: Binding {
        Binding(
            "undo_failed", "undo_failed(title)",
            """
            Tells hanfs that a step's undo failed: a start that left something behind is not retried on another \
            node (Serviceguard exit 1, not 2). stdlib `steps` calls it.
            """
        ) { call in
            steps.undoFailed(try call.string(1))
            return 0
        }
    }

    private var setResult: Binding {
        Binding(
            "set_result", "set_result(\"running\" or \"not running\")",
            "Tells hanfs what a check found: the monitor's `\"not running\"` is OCF's 7."
        ) { call in
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
    }

    /// The package's notes on this node (PackageRuntime) and the key asked for.
    private func runtimeNote(_ call: LuaCall) throws -> (PackageRuntime, String) {
        let c = try requirePackage()
        let key = try call.string(1)
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), key != "lock" else {
            throw HostError("runtime key \"\(key)\": letters, digits, - and _ only (not lock)")
        }
        return (node.settings.runtime(c.name), key)
    }

    private var runtimeRead: Binding {
        Binding(
            "runtime_read", "runtime_read(key)",
            """
            The package's note on this node, `/run/hanfs/<name>.<key>`, gone after a reboot: `notified` (the \
            rpc.statd pid that sent the crash notification), `monitor-failed` (why the monitor ended); nil when there \
            is none.
            """
        ) { call in
            let (runtime, key) = try runtimeNote(call)
            return try call.push(runtime.read(key).map { .string($0) } ?? .nil)
        }
    }

    private var runtimeWrite: Binding {
        Binding("runtime_write", "runtime_write(key, value or nil)", "Writes the note whole or not at all; nil removes it.") { call in
            let (runtime, key) = try runtimeNote(call)
            let value = call.optionalString(2, converting: true)
            try wrap {
                try node.effects.change(value == nil ? "remove \(runtime.path(key))" : "write \(runtime.path(key))") {
                    try runtime.write(key, value)
                }
            }
            return 0
        }
    }
}

/// JSON text from a Lua value (`json(value)`).
enum JSONText {
    struct Mixed: Error, CustomStringConvertible {
        var description: String { "json: a table with both keys and 1..n entries has no JSON form" }
    }

    static func encode(_ value: LuaValue) throws -> String {
        switch value {
        case .nil, .opaque: return "null"
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)) : "null"
        case .string(let s): return string(s)
        case .table(let t):
            if t.fields.isEmpty { return "[" + (try t.array.map(encode).joined(separator: ",")) + "]" }
            guard t.array.isEmpty else { throw Mixed() }
            return "{" + (try t.fields.sorted { $0.key < $1.key }.map { string($0.key) + ":" + (try encode($0.value)) }.joined(separator: ",")) + "}"
        }
    }

    /// A JSON string: the other control characters as \u00XX.
    static func string(_ s: String) -> String {
        NativeWriter.quoted(s) { String(format: "\\u%04x", $0) }
    }
}
