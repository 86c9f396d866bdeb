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

/// A value that cannot cross the boundary: a table nested deeper than the
/// boundary copies, or too large, a string that is not UTF-8 text, or a
/// stack that cannot grow.
public struct ValueError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public var description: String { problem }

    /// The same problem, said of the field or index it was found in. Only the
    /// innermost one is named: a deep table's path would fill the line.
    func within(_ place: String) -> ValueError {
        problem.hasPrefix("field '") || problem.hasPrefix("[") ? self : ValueError(problem: "\(place): \(problem)")
    }
}

enum Stack {
    /// How deep tables are copied across the boundary, either way.
    static let maximumDepth = 16
    /// How many values one copy from Lua may hold: a table that shares its
    /// subtables is copied as a tree, which can grow exponentially.
    static let maximumValues = 100_000

    /// Pushes one value. Each table level takes three stack slots, checked
    /// first (C functions are only promised LUA_MINSTACK); a value nested
    /// deeper than `maximumDepth` is refused with nothing pushed.
    static func push(_ value: LuaValue, _ L: OpaquePointer) throws(ValueError) {
        let top = lua_gettop(L)
        do throws(ValueError) {
            try push(value, L, depth: maximumDepth)
        } catch {
            lua_settop(L, top)
            throw error
        }
    }

    private static func push(_ value: LuaValue, _ L: OpaquePointer, depth: Int) throws(ValueError) {
        guard lua_checkstack(L, 3) != 0 else { throw ValueError(problem: "the Lua stack cannot grow") }
        switch value {
        case .nil, .opaque: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): pushString(s, L)
        case .table(let t):
            guard depth > 0 else {
                throw ValueError(problem: "a table nested more than \(maximumDepth) levels deep")
            }
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.fields.count))
            for (i, v) in t.array.enumerated() {
                try push(v, L, depth: depth - 1)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            for (k, v) in t.fields {
                pushString(k, L)
                try push(v, L, depth: depth - 1)
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

    /// Copies the value at `index`; a table met again inside itself (a cycle)
    /// becomes `.opaque("table")`; a table nested deeper than `maximumDepth`
    /// is an error. Each level's stack slots are checked first.
    static func value(at index: Int32, _ L: OpaquePointer) throws(ValueError) -> LuaValue {
        var path: Set<UnsafeRawPointer> = []
        var budget = maximumValues
        let top = lua_gettop(L)
        let absolute = index < 0 && index > lb_registry_index() ? lua_absindex(L, index) : index
        do throws(ValueError) {
            return try value(at: absolute, L, depth: maximumDepth, path: &path, budget: &budget)
        } catch {
            lua_settop(L, top)
            throw error
        }
    }

    private static func value(
        at index: Int32, _ L: OpaquePointer, depth: Int, path: inout Set<UnsafeRawPointer>, budget: inout Int
    ) throws(ValueError) -> LuaValue {
        budget -= 1
        guard budget >= 0 else { throw ValueError(problem: "a table too large to copy (more than \(maximumValues) values)") }
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(lua_tointegerx(L, index, nil)) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            // Invalid UTF-8 is refused, not replaced: a path with U+FFFD in
            // place of a byte names another file.
            var len = 0
            guard let p = lua_tolstring(L, index, &len),
                let s = p.withMemoryRebound(to: UInt8.self, capacity: len, {
                    String(validating: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
                })
            else { throw ValueError(problem: "a string that is not valid UTF-8") }
            return .string(s)
        case LUA_TTABLE:
            let t = lua_absindex(L, index)
            guard let identity = lua_topointer(L, t), !path.contains(identity) else { return .opaque("table") }
            guard depth > 0 else {
                throw ValueError(problem: "a table nested more than \(maximumDepth) levels deep")
            }
            guard lua_checkstack(L, 2) != 0 else { throw ValueError(problem: "the Lua stack cannot grow") }
            path.insert(identity)
            defer { path.remove(identity) }
            var table = LuaTable()
            let n = lua_rawlen(L, t)
            if n > 0 {
                for i in 1...n {
                    lua_rawgeti(L, t, lua_Integer(i))
                    do throws(ValueError) {
                        table.array.append(try value(at: lua_gettop(L), L, depth: depth - 1, path: &path, budget: &budget))
                    } catch {
                        throw error.within("[\(i)]")
                    }
                    lb_pop(L, 1)
                }
            }
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                if lua_type(L, -2) == LUA_TSTRING, let key = string(at: -2, L) {
                    do throws(ValueError) {
                        table.fields[key] = try value(at: lua_gettop(L), L, depth: depth - 1, path: &path, budget: &budget)
                    } catch {
                        throw error.within("field '\(key)'")
                    }
                }
                lb_pop(L, 1)
            }
            return .table(table)
        default:
            return .opaque(typeName(at: index, L))
        }
    }
}
