import LuaBoundary

/// A Lua value as Swift sees it: a closed set of cases, not `Any`.
public enum LuaValue: Equatable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case table(LuaTable)
    /// A value Swift does not copy (function, userdata, thread), by type name.
    case opaque(String)

    /// The Lua type name of the value.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .opaque(let name): return name
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A table as plain data: its sequence part and its string-keyed fields.
/// Other keys are not carried over.
public struct LuaTable: Equatable, Sendable {
    public var array: [LuaValue]
    public var fields: [String: LuaValue]

    public init(array: [LuaValue] = [], fields: [String: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    public subscript(key: String) -> LuaValue {
        get { fields[key] ?? .nil }
        set { fields[key] = newValue }
    }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(nilLiteral: ()) { self = .nil }
}

// MARK: - Moving values across the boundary (never raises: raw access only)

enum Stack {
    static func push(_ value: LuaValue, _ L: OpaquePointer) {
        switch value {
        case .nil, .opaque: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): pushString(s, L)
        case .table(let t):
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.fields.count))
            for (i, v) in t.array.enumerated() {
                push(v, L)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            for (k, v) in t.fields {
                pushString(k, L)
                push(v, L)
                lua_rawset(L, -3)
            }
        }
    }

    static func pushString(_ s: String, _ L: OpaquePointer) {
        var s = s
        s.withUTF8 { buf in
            _ = buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    static func pushBytes(_ bytes: [UInt8], _ L: OpaquePointer) {
        bytes.withUnsafeBufferPointer { buf in
            _ = buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    /// The string at `index` if it is one (numbers are not converted).
    static func string(at index: Int32, _ L: OpaquePointer) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = lua_tolstring(L, index, &len) else { return nil }
        return p.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    static func typeName(at index: Int32, _ L: OpaquePointer) -> String {
        String(cString: lua_typename(L, lua_type(L, index)))
    }

    /// Copies the value at `index`; tables are copied to `depth` levels, and a
    /// table met again inside itself (a cycle) becomes `.opaque("table")`.
    static func value(at index: Int32, _ L: OpaquePointer, depth: Int = 16) -> LuaValue {
        var path: Set<UnsafeRawPointer> = []
        return value(at: index, L, depth: depth, path: &path)
    }

    private static func value(
        at index: Int32, _ L: OpaquePointer, depth: Int, path: inout Set<UnsafeRawPointer>
    ) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(lua_tointegerx(L, index, nil)) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING: return .string(string(at: index, L) ?? "")
        case LUA_TTABLE:
            let t = lua_absindex(L, index)
            guard depth > 0, let identity = lua_topointer(L, t), !path.contains(identity) else {
                return .opaque("table")
            }
            path.insert(identity)
            defer { path.remove(identity) }
            var table = LuaTable()
            let n = lua_rawlen(L, t)
            if n > 0 {
                for i in 1...n {
                    lua_rawgeti(L, t, lua_Integer(i))
                    table.array.append(value(at: -1, L, depth: depth - 1, path: &path))
                    lb_pop(L, 1)
                }
            }
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                if lua_type(L, -2) == LUA_TSTRING, let key = string(at: -2, L) {
                    table.fields[key] = value(at: -1, L, depth: depth - 1, path: &path)
                }
                lb_pop(L, 1)
            }
            return .table(table)
        default:
            return .opaque(typeName(at: index, L))
        }
    }
}
