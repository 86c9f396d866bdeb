import Foundation
import LuaBoundary
import SafeFiles

/// What a run may use before the host stops it.
public struct RunLimits: Sendable {
    /// Wall-clock seconds for the whole run; nil: none.
    public var deadline: Double?
    /// Bytes of Lua memory, enforced by the allocator: past it an allocation
    /// fails with "not enough memory", which pcall can catch; nil: none.
    public var memory: Int?

    public init(deadline: Double? = nil, memory: Int? = nil) {
        self.deadline = deadline
        self.memory = memory
    }

    public static let unlimited = RunLimits()
}

/// A Lua state with the script environment (see LuaBoundary.h). Not Sendable:
/// a state lives on the thread that made it.
public final class LuaState {
    public let L: OpaquePointer
    /// Seconds the finalizers left get when the state closes, before the
    /// watchdog ends the process: this, or else the last run's deadline
    /// (a run and its closing under the same limit), or else 5.
    public var closeDeadline: Double?
    private var lastDeadline: Double?

    public init() throws {
        _ = Trampoline.installed
        var err = [CChar](repeating: 0, count: 512)
        guard let L = lb_open(&err, err.count) else {
            throw ScriptError(kind: .runtime, message: String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.L = L
    }

    deinit { lb_close(L, closeDeadline ?? lastDeadline ?? 5) }

    public static var luaVersion: String { String(cString: lb_version()) }

    // MARK: globals and host functions

    /// Sets a global, or a field of a global table for a dotted name
    /// (`log.info`), creating the table if needed. Raw: no metamethods run.
    /// A value nested too deep is refused, and the global left as it was.
    public func set(_ name: String, _ value: LuaValue) throws(ValueError) {
        var failure: ValueError?
        withSlot(name) {
            do throws(ValueError) {
                try Stack.push(value, L)
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
    }

    /// Makes `function` callable from Lua as `name` (dotted names allowed).
    public func register(_ name: String, _ function: @escaping HostFunction) {
        let box = Unmanaged.passRetained(HostFunctionBox(name: name, function: function))
        withSlot(name) {
            lb_push_host_function(L, box.toOpaque())
            return true
        }
    }

    /// Pushes the table that holds `name`'s last part, then the key, calls
    /// `pushValue`, and stores the value raw if it pushed one.
    private func withSlot(_ name: String, _ pushValue: () -> Bool) {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        var parts = name.split(separator: ".").map(String.init)
        guard lua_checkstack(L, Int32(clamping: parts.count + 4)) != 0 else { return }
        let last = parts.removeLast()
        lb_push_globals(L)
        for part in parts {
            Stack.pushString(part, L)
            lua_rawget(L, -2)
            if lua_type(L, -1) != LUA_TTABLE {
                lb_pop(L, 1)
                lua_createtable(L, 0, 4)
                Stack.pushString(part, L)
                lua_pushvalue(L, -2)
                lua_rawset(L, -4)
            }
        }
        Stack.pushString(last, L)
        guard pushValue() else { return }
        lua_rawset(L, -3)
    }

    /// A global's value (dotted names allowed), read raw.
    public func get(_ name: String) -> LuaValue {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lb_push_globals(L)
        for part in name.split(separator: ".") {
            guard lua_type(L, -1) == LUA_TTABLE else { return .nil }
            Stack.pushString(String(part), L)
            lua_rawget(L, -2)
        }
        return (try? Stack.value(at: -1, L)) ?? .opaque("table")
    }

    /// Where `require` looks: each directory gets `?.lua` and `?/init.lua`,
    /// in the order given (a site's directory first).
    public func setModuleDirectories(_ directories: [String]) {
        let path = directories.flatMap { ["\($0)/?.lua", "\($0)/?/init.lua"] }.joined(separator: ";")
        withSlot("package.path") {
            Stack.pushString(path, L)
            return true
        }
    }

    // MARK: running code

    /// Compiles a file (text only) and runs it with `arguments` as `...` and
    /// as the global `arg` (`arg[0]` is the script), like the `lua` command.
    /// `chunkName` is what messages call the file.
    public func runFile(
        _ path: String, chunkName: String? = nil, arguments: [String] = [], limits: RunLimits = .unlimited
    ) throws(ScriptError) {
        let data: [UInt8]
        do {
            data = try RegularFile.read(path)
        } catch {
            throw ScriptError(kind: .file, message: "\(chunkName ?? path): \(error.problem)")
        }
        withSlot("arg") {
            lua_createtable(L, Int32(clamping: arguments.count), 1)
            for (i, a) in ([chunkName ?? path] + arguments).enumerated() {
                Stack.pushString(a, L)
                lua_rawseti(L, -2, lua_Integer(i))
            }
            return true
        }
        try load(data, chunkName: "@" + (chunkName ?? path))
        guard lua_checkstack(L, Int32(clamping: arguments.count + 1)) != 0 else {
            lb_pop(L, 1)
            throw ScriptError(kind: .runtime, message: "\(chunkName ?? path): too many arguments")
        }
        for a in arguments { Stack.pushString(a, L) }
        try call(arguments: Int32(arguments.count), results: 0, limits: limits)
    }

    /// Compiles and runs a string; returns its results.
    @discardableResult
    public func run(_ code: String, chunkName: String = "=(string)", limits: RunLimits = .unlimited) throws(ScriptError)
        -> [LuaValue]
    {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        try load(Array(code.utf8), chunkName: chunkName)
        try call(arguments: 0, results: LUA_MULTRET, limits: limits)
        return (top + 1..<lua_gettop(L) + 1).map { (try? Stack.value(at: $0, L)) ?? .opaque("table") }
    }

    /// Compiles a text chunk and pushes it as a function.
    public func load(_ bytes: [UInt8], chunkName: String) throws(ScriptError) {
        let status = bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { luaL_loadbufferx(L, $0.baseAddress, $0.count, chunkName, "t") }
        }
        guard status == LUA_OK else {
            let message = Stack.string(at: -1, L) ?? "cannot load \(chunkName)"
            lb_pop(L, 1)
            throw ScriptError(kind: .syntax, message: message)
        }
    }

    /// Calls the function below its `arguments` under the limits, with a
    /// message handler; on error the stack is left as it was before the function.
    public func call(arguments: Int32, results: Int32, limits: RunLimits = .unlimited) throws(ScriptError) {
        if let deadline = limits.deadline { lastDeadline = deadline }
        lb_arm(L, limits.deadline ?? 0, limits.memory ?? 0)
        let status = lb_pcall(L, arguments, results)
        let stopped = lb_stop_reason_of(L)
        lb_disarm(L)
        guard status != LUA_OK else { return }
        if status == LUA_ERRMEM {
            lb_pop(L, 1)
            let limit = limits.memory.map { "the memory limit of \($0 >> 10) KiB" } ?? "memory"
            throw ScriptError(kind: .memory, message: "not enough memory: the script ran out of \(limit)")
        }
        let message = Stack.string(at: -1, L) ?? "error"
        lb_pop(L, 1)
        lb_push_traceback(L)
        let traceback = Stack.string(at: -1, L)
        lb_pop(L, 1)
        let kind: ScriptError.Kind
        switch stopped {
        case LB_STOP_DEADLINE: kind = .deadline
        case LB_STOP_INTERRUPT: kind = .interrupted
        default: kind = .runtime
        }
        throw ScriptError(kind: kind, message: message, traceback: traceback)
    }

    // MARK: stopping

    /// Stops the running script at its next instruction check. Any thread.
    public func cancel() { lb_cancel(L) }

    /// True once the running script should stop (cancelled, past its deadline,
    /// or a signal is pending): host functions that block poll this.
    public var shouldStop: Bool { lb_should_stop(L) != 0 }

    /// `file:line` of the function `level` levels up the stack, if it is Lua.
    static func position(_ L: OpaquePointer, level: Int32) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard lb_position(L, level, &buf, buf.count) != 0 else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
