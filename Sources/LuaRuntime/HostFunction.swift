import LuaBoundary

/// A Swift function callable from Lua. It reads its arguments from the call,
/// pushes its results, and returns how many it pushed. To fail it throws: the
/// C trampoline then raises the error in Lua, with the caller's file and line.
public typealias HostFunction = (LuaCall) throws -> Int32

/// One call of a host function from Lua: the arguments, and a place for results.
/// Everything here uses only API functions that cannot raise a Lua error.
public struct LuaCall {
    public let L: OpaquePointer
    /// The name the function was registered under, for messages.
    public let name: String

    /// How many arguments the function was called with.
    public var count: Int32 { lua_gettop(L) }

    public func isNil(_ i: Int32) -> Bool { lua_type(L, i) <= LUA_TNIL }
    public func typeName(_ i: Int32) -> String { Stack.typeName(at: i, L) }

    /// The argument, copied (tables to `Stack.maximumDepth` levels).
    public func value(_ i: Int32) throws -> LuaValue {
        do { return try Stack.value(at: i, L) } catch { throw ArgumentError(position: Int(i), error.problem) }
    }

    /// A string argument. One with a NUL byte is refused: every string a
    /// primitive takes this way ends up a C string (a path, a name), where
    /// the NUL would cut it short.
    public func string(_ i: Int32) throws -> String {
        guard let s = optionalString(i, converting: true) else { throw expected("string", at: i) }
        guard !s.utf8.contains(0) else { throw ArgumentError(position: Int(i), "a string with a NUL byte") }
        return s
    }

    /// A string, or nil when the argument is absent or nil. With `converting`,
    /// a number is accepted and given in its Lua form.
    public func optionalString(_ i: Int32, converting: Bool = true) -> String? {
        switch lua_type(L, i) {
        case LUA_TSTRING: return Stack.string(at: i, L)
        case LUA_TNUMBER where converting:
            if lua_isinteger(L, i) != 0 { return String(lua_tointegerx(L, i, nil)) }
            return String(lua_tonumberx(L, i, nil))
        default: return nil
        }
    }

    public func integer(_ i: Int32) throws -> Int64 {
        var isNum: Int32 = 0
        let v = lua_tointegerx(L, i, &isNum)
        guard isNum != 0 else {
            throw lua_type(L, i) == LUA_TNUMBER
                ? ArgumentError(position: Int(i), "number has no integer representation")
                : expected("integer", at: i)
        }
        return v
    }

    public func number(_ i: Int32) throws -> Double {
        var isNum: Int32 = 0
        let v = lua_tonumberx(L, i, &isNum)
        guard isNum != 0 else { throw expected("number", at: i) }
        return v
    }

    public func boolean(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }

    /// The table at `i`, for raw reads of its fields.
    public func table(_ i: Int32) throws -> LuaTableView {
        guard lua_type(L, i) == LUA_TTABLE else { throw expected("table", at: i) }
        return LuaTableView(L: L, index: lua_absindex(L, i), position: Int(i))
    }

    public func expected(_ what: String, at i: Int32) -> ArgumentError {
        ArgumentError(position: Int(i), "\(what) expected, got \(lua_type(L, i) == LUA_TNONE ? "no value" : typeName(i))")
    }

    // MARK: results

    @discardableResult
    public func push(_ value: LuaValue) throws -> Int32 {
        do { try Stack.push(value, L) } catch { throw HostError("cannot return the result: \(error.problem)") }
        return 1
    }

    @discardableResult
    public func push(bytes: [UInt8]) throws -> Int32 {
        guard lua_checkstack(L, 1) != 0 else { throw HostError("cannot return the result: the Lua stack cannot grow") }
        Stack.pushBytes(bytes, L)
        return 1
    }

    /// `file:line` of the Lua code that called this function, if it was Lua.
    public var callerPosition: String? { LuaState.position(L, level: 1) }
    /// The caller's line alone (0 when it has none), without making a string.
    public var callerLine: Int { Int(lb_line(L, 1)) }
}

/// Raw, read-only access to a table argument's fields.
public struct LuaTableView {
    let L: OpaquePointer
    let index: Int32
    public let position: Int

    /// The length of the sequence part (`#t` without metamethods).
    public var count: Int { Int(lua_rawlen(L, index)) }

    /// A field's value, copied.
    public subscript(key: String) -> LuaValue {
        get throws {
            guard lua_checkstack(L, 1) != 0 else { throw badField(key, "the Lua stack cannot grow") }
            Stack.pushString(key, L)
            lua_rawget(L, index)
            defer { lb_pop(L, 1) }
            do { return try Stack.value(at: -1, L) } catch { throw badField(key, error.problem) }
        }
    }

    public subscript(i: Int) -> LuaValue {
        get throws {
            guard lua_checkstack(L, 1) != 0 else { throw ArgumentError(position: position, "the Lua stack cannot grow") }
            lua_rawgeti(L, index, lua_Integer(i))
            defer { lb_pop(L, 1) }
            do { return try Stack.value(at: -1, L) } catch { throw ArgumentError(position: position, "[\(i)]: \(error.problem)") }
        }
    }

    /// The table at `t[i]`, left on the stack while the call lasts; nil if
    /// that is not a table.
    public func table(at i: Int) -> LuaTableView? {
        guard lua_checkstack(L, 1) != 0 else { return nil }
        lua_rawgeti(L, index, lua_Integer(i))
        guard lua_type(L, -1) == LUA_TTABLE else {
            lb_pop(L, 1)
            return nil
        }
        return LuaTableView(L: L, index: lua_gettop(L), position: position)
    }

    /// The string keys of the table, for rejecting unknown options.
    public var keys: [String] {
        var keys: [String] = []
        guard lua_checkstack(L, 2) != 0 else { return keys }
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let k = Stack.string(at: -2, L) { keys.append(k) }
            lb_pop(L, 1)
        }
        return keys
    }

    /// The error for a field of the wrong kind: `bad argument #1 (field 'timeout': number expected, got string)`.
    public func badField(_ key: String, _ problem: String) -> ArgumentError {
        ArgumentError(position: position, "field '\(key)': \(problem)")
    }
}

// MARK: - The Swift half of the trampoline

final class HostFunctionBox {
    let name: String
    let function: HostFunction
    init(name: String, function: @escaping HostFunction) {
        self.name = name
        self.function = function
    }
}

enum Trampoline {
    /// Installs the dispatch and release functions the C trampoline calls. Once.
    static let installed: Void = {
        lb_install_host(
            { L, raw in
                let box = Unmanaged<HostFunctionBox>.fromOpaque(raw!).takeUnretainedValue()
                do {
                    return try box.function(LuaCall(L: L!, name: box.name))
                } catch let error as ArgumentError {
                    lua_settop(L, 0)
                    Stack.pushString("bad argument #\(error.position) to '\(box.name)' (\(error.problem))", L!)
                } catch {
                    lua_settop(L, 0)
                    Stack.pushString("\(box.name): \(error)", L!)
                }
                // The C side raises it once this frame has returned.
                return LB_HOST_ERROR
            },
            { raw in Unmanaged<HostFunctionBox>.fromOpaque(raw!).release() }
        )
    }()
}

extension LuaCall {
    /// The arguments from `first` on, each as Lua's tostring gives it,
    /// joined by `separator` (what print does).
    public func joinedArguments(from first: Int32 = 1, separator: String = "\t") -> String {
        guard count >= first else { return "" }
        var parts: [String] = []
        for i in first...count {
            guard lua_checkstack(L, 3) != 0 else { break }
            lb_push_tostring(L, i)
            parts.append(Stack.string(at: -1, L) ?? "")
            lb_pop(L, 1)
        }
        return parts.joined(separator: separator)
    }
}
