import Foundation
import Primitives
import Synchronization
import TestSupport
import Testing

@Suite struct RunCommand {
    @Test func versionNamesHanfsAndLua() throws {
        let out = try hanfs(["--version"])
        #expect(out.status == 0)
        #expect(out.stdout.hasPrefix("hanfs 0.1.0 (Lua 5.4"))
    }

    @Test func aScriptRunsWithArgumentsAndPrints() throws {
        let dir = try Scratch()
        let script = try dir.write("hello.lua", "print('args', ...) print(arg[0], #arg) log.info('to the log')")
        let out = try hanfs(["run", script, "one", "--two"])
        #expect(out.status == 0)
        #expect(out.stdout == "args\tone\t--two\n\(script)\t2\n")
        #expect(out.stderr.contains("info    \(script):1: to the log"))
        let quiet = try hanfs(["run", "--log-level", "error", script, "one", "--two"])
        #expect(quiet.stdout == out.stdout)
        #expect(quiet.stderr.isEmpty)
    }

    @Test func anUncaughtErrorExitsNonZeroWithFileLineAndTraceback() throws {
        let dir = try Scratch()
        let script = try dir.write(
            "start.lua",
            """
            local function mount_all()
              run{"sh", "-c", "echo 'mount: /srv/a: not a directory' >&2; exit 32"}
            end
            mount_all()
            """)
        let out = try hanfs(["run", script])
        #expect(out.status == 1)
        let lines = out.stderr.split(separator: "\n").map(String.init)
        let reason = try #require(lines.first { $0.hasPrefix("hanfs: ") })
        #expect(reason == "hanfs: \(script):2: run: sh exited with status 32: mount: /srv/a: not a directory")
        let after = try #require(lines.firstIndex(of: reason))
        #expect(lines[after + 1] == "stack traceback:")
        #expect(out.stderr.contains("\(script):4: in main chunk"))
    }

    @Test func dryRunRecordsArgvAndRunsNothing() throws {
        let dir = try Scratch()
        let marker = dir.path + "/should-not-exist"
        let script = try dir.write(
            "plan.lua",
            """
            local r = run{"touch", "\(marker)", timeout = 7}
            assert(r.ok)
            run{"exportfs", "-o", "rw,fsid=101", "*:/srv/nfs/a b"}
            """)
        let out = try hanfs(["run", "--dry-run", script])
        #expect(out.status == 0)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(
            out.stdout == """
                plan: 2 commands
                1. touch \(marker)    (timeout 7.0 s)
                2. exportfs -o rw,fsid=101 '*:/srv/nfs/a b'    (timeout 60.0 s)

                """)
        #expect(out.stderr.contains("would run: touch \(marker)"))
        // Global flags go before the subcommand too.
        let before = try hanfs(["--dry-run", "--log-level", "error", "run", script])
        #expect(before.status == 0)
        #expect(before.stdout == out.stdout)
        #expect(before.stderr.isEmpty)
    }

    @Test func theDeadlineStopsARunawayScript() throws {
        let dir = try Scratch()
        let script = try dir.write("loop.lua", "while true do pcall(function() end) end")
        let start = Date()
        let out = try hanfs(["run", "--deadline", "0.5", script])
        #expect(out.status == 1)
        #expect(out.stderr.hasPrefix("hanfs: \(script):1: deadline of 0.5 s exceeded"))
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func theDeadlineAlsoCutsAWaitingCommand() throws {
        let dir = try Scratch()
        let script = try dir.write("wait.lua", "run{'sleep', '41', timeout = 60}")
        let start = Date()
        let out = try hanfs(["run", "--deadline", "0.5", script])
        #expect(out.status == 1)
        #expect(out.stderr.contains("sleep: interrupted"))
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(try processes(withCommandLine: "sleep 41").isEmpty)
    }

    @Test func scriptsAreFoundByNameInTheSiteDirectoryFirst() throws {
        let dir = try Scratch()
        try dir.write("site/scripts/greet.lua", "print('site ' .. require('greeting'))")
        try dir.write("site/stdlib/greeting.lua", "return 'hello from the site stdlib'")
        let out = try hanfs(["run", "--site-dir", dir.path + "/site", "greet"])
        #expect(out.status == 0)
        #expect(out.stdout == "site hello from the site stdlib\n")
        let shipped = try hanfs(["run", "--site-dir", dir.path + "/site", "no-such-script"])
        #expect(shipped.status == 1)
        #expect(shipped.stderr.contains("no such script"))
    }

    @Test func theShippedStdlibIsOnTheRequirePath() throws {
        let dir = try Scratch()
        let script = try dir.write("p.lua", "print(require('pretty').format({1, x = {y = 'z'}}))")
        let out = try hanfs(["run", script])
        #expect(out.stdout == "{ 1, x = { y = \"z\" } }\n")
    }

    @Test func sigtermStopsTheScriptAndTheCommandItWaitsFor() throws {
        let dir = try Scratch()
        let script = try dir.write("long.lua", "run{'sleep', '42', timeout = 60}")
        let result = Mutex<Output?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let out = try? hanfs(["run", script])
            result.withLock { $0 = out }
            done.signal()
        }
        var waited = 0
        while try processes(withCommandLine: "sleep 42").isEmpty && waited < 100 {
            waited += 1
        }
        let hanfsPid = try #require(try processes(withCommandLine: "\(hanfsBinary) run \(script)").first)
        kill(hanfsPid, SIGTERM)
        #expect(done.wait(timeout: .now() + 10) == .success)
        let out = try #require(result.withLock { $0 })
        #expect(out.status == 1)
        #expect(out.stderr.contains("interrupted"))
        #expect(try processes(withCommandLine: "sleep 42").isEmpty)
    }
}
