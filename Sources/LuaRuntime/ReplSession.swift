import LuaBoundary

/// The interpreter loop of `lua`, without the terminal: feed it lines, it says
/// whether the statement is complete, runs it, and gives back what to print.
/// An expression prints its value; a table prints readably.
public final class ReplSession {
    public enum Outcome: Equatable {
        /// The statement goes on: ask for another line.
        case incomplete
        /// Ran; these are the values to print (none for a statement).
        case values([String])
        /// Failed to compile or to run.
        case failed(ScriptError)
    }

    public let lua: LuaState
    private var pending: [String] = []
    private static let formatterKey = "hanfs.repl.formatter"

    public init(_ lua: LuaState) {
        self.lua = lua
    }

    /// True while a statement spans lines (show the continuation prompt).
    public var isContinuing: Bool { !pending.isEmpty }

    /// Forgets a half-typed statement (Ctrl-C at the prompt).
    public func reset() { pending.removeAll() }

    /// The last complete statement, all its lines joined (for the history).
    public private(set) var lastStatement: String?

    public func feed(_ line: String, limits: RunLimits = .unlimited) -> Outcome {
        let L = lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        do {
            if pending.isEmpty, (try? lua.load(Array("return \(line);".utf8), chunkName: "=stdin")) != nil {
                // An expression: print its values.
                lastStatement = line
            } else {
                pending.append(line)
                lastStatement = pending.joined(separator: "\n")
                do {
                    try lua.load(Array(lastStatement!.utf8), chunkName: "=stdin")
                } catch where error.message.hasSuffix("<eof>") {
                    return .incomplete
                }
                pending.removeAll()
            }
            try lua.call(arguments: 0, results: LUA_MULTRET, limits: limits)
            let count = lua_gettop(L) - top
            return .values(count == 0 ? [] : format(from: top + 1, count: count))
        } catch {
            pending.removeAll()
            return .failed(error)
        }
    }

    /// The values on the stack as `pretty.format` shows them (the stdlib's
    /// formatter, so a site may change it), or as tostring if it is missing.
    private func format(from first: Int32, count: Int32) -> [String] {
        let L = lua.L
        var formatted: [String] = []
        for i in first..<first + count {
            pushFormatter()
            lua_pushvalue(L, i)
            if (try? lua.call(arguments: 1, results: 1)) != nil, let s = Stack.string(at: -1, L) {
                formatted.append(s)
                lb_pop(L, 1)
            } else {
                lb_push_tostring(L, i)
                formatted.append(Stack.string(at: -1, L) ?? "?")
                lb_pop(L, 1)
            }
        }
        return formatted
    }

    private func pushFormatter() {
        let L = lua.L
        Stack.pushString(Self.formatterKey, L)
        lua_rawget(L, lb_registry_index())
        if lua_type(L, -1) == LUA_TFUNCTION { return }
        lb_pop(L, 1)
        let source = """
            local ok, pretty = pcall(require, "pretty")
            if ok then return pretty.format end
            return tostring
            """
        let base = lua_gettop(L)
        if (try? lua.load(Array(source.utf8), chunkName: "=repl")) != nil,
            (try? lua.call(arguments: 0, results: 1)) != nil, lua_type(L, -1) == LUA_TFUNCTION
        {
            Stack.pushString(Self.formatterKey, L)
            lua_pushvalue(L, -2)
            lua_rawset(L, lb_registry_index())
            return
        }
        lua_settop(L, base)
        lua_pushnil(L)  // calling it fails, and format falls back to tostring
    }

    // MARK: completion

    /// Completions of the word being typed: globals (`pri` → `print`),
    /// fields of tables (`log.in` → `log.info`), methods (`s:up` → `s:upper`).
    public func completions(for word: String) -> [String] {
        let L = lua.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard let split = word.lastIndex(where: { $0 == "." || $0 == ":" }) else {
            lb_push_globals(L)
            return keys(ofTableAt: -1, prefix: word, includeMeta: true).sorted()
        }
        let path = word[..<split].split(separator: ".", omittingEmptySubsequences: false)
        let prefix = String(word[word.index(after: split)...])
        let head = String(word[...split])
        lb_push_globals(L)
        for part in path {
            guard lua_type(L, -1) == LUA_TTABLE else { return [] }
            Stack.pushString(String(part), L)
            lua_rawget(L, -2)
        }
        if word[split] == ":" || lua_type(L, -1) != LUA_TTABLE {
            // Methods: what the value's metatable __index offers (strings: string.*).
            guard lua_getmetatable(L, -1) != 0 else { return [] }
            Stack.pushString("__index", L)
            lua_rawget(L, -2)
            guard lua_type(L, -1) == LUA_TTABLE else { return [] }
        }
        return keys(ofTableAt: -1, prefix: prefix, includeMeta: word[split] == ".").map { head + $0 }.sorted()
    }

    private func keys(ofTableAt index: Int32, prefix: String, includeMeta: Bool) -> [String] {
        let L = lua.L
        let t = lua_absindex(L, index)
        var found = Set<String>()
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let k = Stack.string(at: -2, L), k.hasPrefix(prefix),
                !k.hasPrefix("_") || prefix.hasPrefix("_")
            {
                found.insert(k)
            }
            lb_pop(L, 1)
        }
        // Fields an object inherits through a table __index.
        if includeMeta, lua_getmetatable(L, t) != 0 {
            Stack.pushString("__index", L)
            lua_rawget(L, -2)
            if lua_type(L, -1) == LUA_TTABLE && lua_rawequal(L, -1, t) == 0 {
                found.formUnion(keys(ofTableAt: -1, prefix: prefix, includeMeta: false))
            }
            lb_pop(L, 2)
        }
        return Array(found)
    }
}
