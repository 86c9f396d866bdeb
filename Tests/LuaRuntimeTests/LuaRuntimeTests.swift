import Foundation
import LuaRuntime
import TestSupport
import Testing

/// A state with one failing host function, `fail(msg)`, and `echo(...)`.
private func makeState() throws -> LuaState {
    let lua = try LuaState()
    lua.register("fail") { call in throw HostError(try call.string(1)) }
    lua.register("echo") { call in
        for i in 1...max(1, call.count) { try call.push(try call.value(i)) }
        return max(1, call.count)
    }
    lua.register("host.greet") { call in try call.push(.string("hello \(try call.string(1))")) }
    return lua
}

private func expectError(_ lua: LuaState, _ code: String, chunk: String = "=test.lua") -> ScriptError? {
    do {
        try lua.run(code, chunkName: chunk)
        return nil
    } catch {
        return error
    }
}

@Suite struct ErrorsAcrossTheBoundary {
    @Test func hostErrorArrivesInLuaWithFileAndLineAndPcallCatchesIt() throws {
        let lua = try makeState()
        let values = try lua.run(
            """
            local ok, err = pcall(function()
              fail("/srv/a: not a directory")
            end)
            return ok, err
            """, chunkName: "=start.lua")
        #expect(values == [.boolean(false), .string("start.lua:2: fail: /srv/a: not a directory")])
    }

    @Test func uncaughtErrorHasFileLineMessageAndTraceback() throws {
        let lua = try makeState()
        let error = try #require(expectError(lua, "local x = 1\nfail('boom')", chunk: "=start.lua"))
        #expect(error.kind == .runtime)
        #expect(error.message == "start.lua:2: fail: boom")
        let traceback = try #require(error.traceback)
        #expect(traceback.hasPrefix("stack traceback:"))
        #expect(traceback.contains("in function 'fail'"))
        #expect(traceback.contains("start.lua:2: in main chunk"))
    }

    @Test func luaErrorsAndNonStringErrors() throws {
        let lua = try makeState()
        #expect(expectError(lua, "error('plain')")?.message == "test.lua:1: plain")
        #expect(expectError(lua, "error({code = 1})")?.message == "(error object is a table value)")
        #expect(
            expectError(lua, "error(setmetatable({}, {__tostring = function() return 'custom' end}))")?.message
                == "custom")
    }

    @Test func argumentErrorsReadLikeTheStandardLibrary() throws {
        let lua = try makeState()
        #expect(
            expectError(lua, "host.greet()")?.message
                == "test.lua:1: bad argument #1 to 'host.greet' (string expected, got no value)")
        #expect(
            expectError(lua, "host.greet({})")?.message
                == "test.lua:1: bad argument #1 to 'host.greet' (string expected, got table)")
        #expect(try lua.run("return host.greet('x')") == [.string("hello x")])
    }

    @Test func syntaxErrorsAreReportedAsSuch() throws {
        let lua = try makeState()
        let error = try #require(expectError(lua, "local = 1"))
        #expect(error.kind == .syntax)
        #expect(error.message.hasPrefix("test.lua:1:"))
    }

    @Test func manyHostCallsAndErrorsLeaveTheStackBalanced() throws {
        let lua = try makeState()
        let values = try lua.run(
            """
            local n = 0
            for i = 1, 10000 do
              if not pcall(fail, "x") then n = n + 1 end
              echo(i, "s", {})
            end
            return n
            """)
        #expect(values == [.integer(10000)])
    }
}

@Suite struct Limits {
    @Test func endlessLoopAroundPcallIsStoppedByTheDeadline() throws {
        let lua = try makeState()
        let start = Date()
        do {
            try lua.run("while true do pcall(function() end) end", chunkName: "=loop.lua", limits: RunLimits(deadline: 0.3))
            Issue.record("the loop ended by itself")
        } catch {
            #expect(error.kind == .deadline)
            #expect(error.message == "loop.lua:1: deadline of 0.3 s exceeded")
        }
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func errorHandlersCannotSwallowTheStop() throws {
        let lua = try makeState()
        let code = """
            while true do
              xpcall(function() while true do end end, function(e) return e end)
              local co = coroutine.wrap(function() while true do end end)
              pcall(co)
            end
            """
        #expect(throws: ScriptError.self) { try lua.run(code, limits: RunLimits(deadline: 0.3)) }
    }

    @Test func stateIsUsableAfterAStop() throws {
        let lua = try makeState()
        #expect(throws: ScriptError.self) { try lua.run("while true do end", limits: RunLimits(deadline: 0.1)) }
        #expect(try lua.run("return 1 + 1") == [.integer(2)])
    }

    @Test func cancelFromAnotherThreadStopsTheScript() throws {
        let lua = try makeState()
        let handle = UncheckedBox(lua)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { handle.value.cancel() }
        do {
            try lua.run("while true do end")
            Issue.record("not stopped")
        } catch {
            #expect(error.kind == .interrupted)
        }
    }

    @Test func theMemoryLimitIsAnErrorPcallCanCatch() throws {
        let lua = try makeState()
        // Gigabytes at once: refused by the allocator, not allocated and then stopped.
        let values = try lua.run(
            "local ok, err = pcall(string.rep, 'x', 1 << 30) return ok, err, #string.rep('y', 1000)",
            limits: RunLimits(memory: 64 << 20))
        #expect(values == [.boolean(false), .string("not enough memory"), .integer(1000)])
        do {
            try lua.run("local s = string.rep('x', 1 << 30)", limits: RunLimits(memory: 64 << 20))
            Issue.record("not stopped")
        } catch {
            #expect(error.kind == .memory)
            #expect(error.message == "not enough memory: the script ran out of the memory limit of 65536 KiB")
        }
        #expect(try lua.run("return #string.rep('x', 1 << 20)") == [.integer(1 << 20)])
    }

    @Test func memoryLimitStopsAGrowingScript() throws {
        let lua = try makeState()
        do {
            try lua.run("local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end", limits: RunLimits(memory: 8 << 20))
            Issue.record("not stopped")
        } catch {
            #expect(error.kind == .memory)
        }
    }
}

@Suite struct Environment {
    @Test func readingAnUndeclaredGlobalIsAnError() throws {
        let lua = try makeState()
        #expect(expectError(lua, "local x = mispelled")?.message == "test.lua:1: undeclared global 'mispelled'")
    }

    @Test func assigningAGlobalInsideAFunctionIsAnErrorButTopLevelDeclares() throws {
        let lua = try makeState()
        let error = expectError(lua, "local function f() counter = 1 end f()")
        #expect(error?.message.hasPrefix("test.lua:1: assignment to undeclared global 'counter'") == true)
        #expect(try lua.run("declared = 5 return declared") == [.integer(5)])
        #expect(try lua.run("local function f() declared = 6 end f() return declared") == [.integer(6)])
    }

    @Test func noSideEffectsBehindTheHostsBack() throws {
        let lua = try makeState()
        let values = try lua.run(
            """
            return os.execute, os.remove, os.rename, os.exit, os.tmpname, rawget(_G, "io"),
                   rawget(_G, "debug"), rawget(_G, "dofile"), rawget(_G, "loadfile"), package.loadlib, package.cpath
            """)
        #expect(values == [.nil, .nil, .nil, .nil, .nil, .nil, .nil, .nil, .nil, .nil, .string("")])
        #expect(expectError(lua, "io.popen('ls')")?.message == "test.lua:1: undeclared global 'io'")
        #expect(try lua.run("return type(os.time()), type(os.clock()), type(os.date()), os.getenv('HOME') ~= nil").count == 4)
    }

    @Test func binaryChunksAreRefused() throws {
        let lua = try makeState()
        let values = try lua.run("return load(string.dump(function() return 1 end))")
        #expect(values.first == .nil)
        #expect(values.last?.stringValue?.contains("attempt to load a binary chunk") == true)
        #expect(try lua.run("return load('return 7')()") == [.integer(7)])
        #expect(try lua.run("return load('return x', 'c', 'b', {x = 8})()") == [.integer(8)])
    }

    @Test func requireSearchesDirectoriesInOrderAndLoadsTextOnly() throws {
        let dir = try Scratch()
        try dir.write("site/m.lua", "return 'site'")
        try dir.write("shipped/m.lua", "return 'shipped'")
        try dir.write("shipped/only.lua", "return 'only shipped'")
        try dir.write("shipped/pkg/init.lua", "return 'init'")
        try dir.write("shipped/bin.lua", "\u{1B}Lua binary")
        let lua = try makeState()
        lua.setModuleDirectories([dir.path + "/site", dir.path + "/shipped"])
        #expect(try lua.run("return require 'm', require 'only', (require 'pkg')") == [
            .string("site"), .string("only shipped"), .string("init"),
        ])
        #expect(expectError(lua, "require 'bin'")?.message.contains("binary chunk") == true)
        #expect(expectError(lua, "require 'nothere'")?.message.contains("module 'nothere' not found") == true)
    }

    @Test func valuesCrossBothWays() throws {
        let lua = try makeState()
        let table = LuaTable(array: [1, "two"], fields: ["x": 2.5, "nested": .table(LuaTable(fields: ["ok": true]))])
        try lua.set("given", .table(table))
        #expect(try lua.run("return given") == [.table(table)])
        #expect(try lua.run("return given.nested.ok, #given, given[2]") == [.boolean(true), .integer(2), .string("two")])
        let cyclic = try lua.run("local t = {} t.self = t return t")
        #expect(cyclic == [.table(LuaTable(fields: ["self": .opaque("table")]))])
    }
}

@Suite struct TheBoundaryCannotBeCrashed {
    @Test func aHostFunctionKeptPastItsFinalizerRaisesAnErrorWhenCalled() throws {
        let lua = try makeState()
        // The finalizer of a table that refers to `echo` resurrects it into a
        // global after `echo`'s own box was released.
        let values = try lua.run(
            """
            kept = false
            setmetatable({fn = echo}, {__gc = function(self) kept = self.fn end})
            echo = nil
            collectgarbage() collectgarbage()
            return pcall(kept, 1)
            """)
        #expect(values.first == .boolean(false))
        #expect(values.last?.stringValue?.contains("a host function was called after Lua finalized it") == true)
    }

    @Test func deepTablesAreRefusedWithAMessageNotACrash() throws {
        let lua = try makeState()
        for depth in [15, 20, 200, 5000] {
            let values = try lua.run(
                """
                local t = {}
                for i = 1, \(depth) do t = {t} end
                local function one_down() return pcall(echo, t) end
                return one_down()
                """)
            if depth < copiedLevels {
                #expect(values.first == .boolean(true), "depth \(depth): \(values)")
            } else {
                #expect(values.first == .boolean(false), "depth \(depth)")
                #expect(values.last?.stringValue?.contains("a table nested more than 16 levels deep") == true, "depth \(depth)")
            }
        }
        // Wide and moderately deep: every level's stack slots are checked.
        let values = try lua.run(
            """
            local t = {}
            for i = 1, 7 do t = {t, t, a = t, b = {t}} end
            return pcall(echo, t)
            """)
        #expect(values.first == .boolean(true))
        // Shared subtables are copied each time they are met: the copy is
        // bounded in size too, or 16 levels of 30 references would never end.
        let huge = try lua.run(
            """
            local t = {}
            for i = 1, 15 do local n = {} for j = 1, 30 do n[j] = t end t = n end
            return pcall(echo, t)
            """)
        #expect(huge.first == .boolean(false))
        #expect(huge.last?.stringValue?.contains("more than 100000 values") == true)
    }

    @Test func aDeepResultIsRefusedAndTheGlobalIsLeftAlone() throws {
        let lua = try makeState()
        var deep = LuaValue.integer(1)
        for _ in 0..<40 { deep = .table(LuaTable(array: [deep])) }
        #expect(throws: ValueError.self) { try lua.set("deep", deep) }
        #expect(try lua.run("return rawget(_G, 'deep')") == [.nil])
        let result = deep
        lua.register("deep_result") { call in try call.push(result) }
        let values = try lua.run("return pcall(deep_result)")
        #expect(values.first == .boolean(false))
        #expect(values.last?.stringValue?.contains("deep_result: cannot return the result: a table nested more than 16 levels deep") == true)
    }
}

/// How deep the boundary copies tables (Stack.maximumDepth): 15 wraps and the innermost table.
private let copiedLevels = 16

/// Serialized: both tests count the same live objects.
@Suite(.serialized) struct HostFunctionLifetime {
    final class Tracked: @unchecked Sendable {
        static let lock = NSLock()
        nonisolated(unsafe) static var alive = 0
        init() { Self.lock.withLock { Self.alive += 1 } }
        deinit { Self.lock.withLock { Self.alive -= 1 } }
    }

    @Test func boxedClosuresAreFreedWhenTheStateCloses() throws {
        let before = Tracked.lock.withLock { Tracked.alive }
        do {
            let lua = try LuaState()
            for i in 0..<10 {
                let tracked = Tracked()
                lua.register("f\(i)") { _ in _ = tracked; return 0 }
            }
            #expect(Tracked.lock.withLock { Tracked.alive } == before + 10)
            try lua.run("f0() f9()")
        }
        #expect(Tracked.lock.withLock { Tracked.alive } == before)
    }

    @Test func replacedFunctionsAreCollected() throws {
        let before = Tracked.lock.withLock { Tracked.alive }
        let lua = try LuaState()
        let tracked = Tracked()
        lua.register("g") { _ in _ = tracked; return 0 }
        _ = tracked
        try lua.run("g = nil collectgarbage() collectgarbage()")
        #expect(Tracked.lock.withLock { Tracked.alive } == before + 1)  // `tracked` itself, still in scope
    }
}

@Suite struct Repl {
    @Test func expressionsStatementsAndContinuation() throws {
        let session = ReplSession(try makeState())
        #expect(session.feed("1 + 2") == .values(["3"]))
        #expect(session.feed("x = 10") == .values([]))
        #expect(session.feed("function sq(n)") == .incomplete)
        #expect(session.isContinuing)
        #expect(session.feed("  return n * n") == .incomplete)
        #expect(session.feed("end") == .values([]))
        #expect(session.lastStatement == "function sq(n)\n  return n * n\nend")
        #expect(session.feed("sq(x), 'a'") == .values(["100", "a"]))
    }

    @Test func errorsAndReset() throws {
        let session = ReplSession(try makeState())
        guard case .failed(let error) = session.feed("error('boom')") else {
            Issue.record("no error")
            return
        }
        #expect(error.message == "stdin:1: boom")
        #expect(error.traceback?.contains("stack traceback") == true)
        #expect(session.feed("if true then") == .incomplete)
        session.reset()
        #expect(!session.isContinuing)
        #expect(session.feed("2") == .values(["2"]))
    }

    @Test func completionOfGlobalsFieldsAndMethods() throws {
        let session = ReplSession(try makeState())
        #expect(session.completions(for: "ech") == ["echo"])
        #expect(session.completions(for: "host.gr") == ["host.greet"])
        #expect(session.completions(for: "string.up") == ["string.upper"])
        _ = session.feed("s = 'abc'")
        #expect(session.completions(for: "s:up") == ["s:upper"])
        #expect(session.completions(for: "pa").contains("package"))
        #expect(session.completions(for: "pa").contains("pairs"))
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
