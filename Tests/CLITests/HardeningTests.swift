// Issue #12 from the command line: the watchdog, an unfinished start, hostile
// command lines, control characters in logs.
import Foundation
import Primitives
import Synchronization
import TestSupport
import Testing

/// What the count hook cannot stop: one long C call, a finalizer that never
/// returns. The watchdog ends the process within its grace period (1 s) of
/// the stop falling due, and says so.
@Suite struct Watchdog {
    /// A Lua pattern that backtracks for ever (2^40 ways to match).
    static let backtracking = "string.find(string.rep('a', 40), string.rep('a?', 40) .. string.rep('a', 40) .. 'b')"

    @Test func aBacktrackingPatternIsEndedPastTheDeadline() throws {
        let dir = try Scratch()
        let script = try dir.write("stuck.lua", Self.backtracking)
        let start = Date()
        let out = try hanfs(["run", "--deadline", "1", script])
        let took = Date().timeIntervalSince(start)
        #expect(out.status == 1)
        #expect(out.stderr.contains("hanfs: the script is still running"))
        #expect(out.stderr.contains("past its deadline of 1 s, in a C function or a finalizer"))
        #expect(took > 1.9 && took < 5, "took \(took) s")
    }

    @Test func aLoopingFinalizerIsEndedPastTheDeadline() throws {
        let dir = try Scratch()
        let script = try dir.write(
            "gc.lua", "setmetatable({}, {__gc = function() while true do end end}) collectgarbage()")
        let out = try hanfs(["run", "--deadline", "1", script])
        #expect(out.status == 1)
        #expect(out.stderr.contains("past its deadline of 1 s"))
    }

    @Test func sigtermEndsAScriptStuckInACFunction() throws {
        let dir = try Scratch()
        let script = try dir.write("stuck-term.lua", Self.backtracking)
        let result = Mutex<Output?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let out = try? hanfs(["run", script])
            result.withLock { $0 = out }
            done.signal()
        }
        let pid = try #require(try eventually { try processes(withCommandLine: "\(hanfsBinary) run \(script)").first })
        Thread.sleep(forTimeInterval: 0.3)  // inside string.find by now
        let sent = Date()
        kill(pid, SIGTERM)
        #expect(done.wait(timeout: .now() + 10) == .success)
        let out = try #require(result.withLock { $0 })
        #expect(Date().timeIntervalSince(sent) < 4)
        #expect(out.status == 1)
        #expect(out.stderr.contains("did not stop within 1 s of being interrupted"))
    }

    @Test func aLoopingFinalizerAtCloseDoesNotHangValidate() throws {
        let dir = try Scratch()
        let config = try dir.write(
            "gcpkg.lua",
            """
            package { name = "gcpkg" }
            setmetatable({}, {__gc = function() while true do end end})
            """)
        let start = Date()
        let out = try hanfs(["validate", "--config", config])
        #expect(out.status == 1)
        #expect(out.stderr.contains("closing the Lua state (a __gc finalizer) is still running"))
        #expect(Date().timeIntervalSince(start) < 8)
    }

    @Test func aLoopingFinalizerAtCloseIsBoundByTheRunsDeadline() throws {
        let dir = try Scratch()
        let config = try dir.write("gcp.lua", "package { name = 'gcp' }")
        try dir.write("site/scripts/start.lua", "setmetatable({}, {__gc = function() while true do end end}) print('planned')")
        let start = Date()
        let out = try hanfs(["start", "--dry-run", "--deadline", "1", "--site-dir", dir.path + "/site", "--config", config])
        #expect(out.stdout.hasPrefix("planned\n"))
        #expect(out.stderr.contains("closing the Lua state (a __gc finalizer) is still running"))
        #expect(out.stderr.contains("past its deadline of 1 s"))
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func gigabytesAreRefusedByTheMemoryLimitWithAMessage() throws {
        let dir = try Scratch()
        let config = try dir.write("big.lua", "package { name = 'big' }\nlocal s = string.rep('x', 1 << 30)")
        let out = try hanfs(["validate", "--config", config])
        #expect(out.status == 6)
        #expect(out.stderr == "hanfs: \(config): not enough memory: the script ran out of the memory limit of 65536 KiB\n")
        let script = try dir.write("big-run.lua", "print(pcall(string.rep, 'x', 1 << 30))")
        let run = try hanfs(["run", script])
        #expect(run.status == 0)
        #expect(run.stdout == "false\tnot enough memory\n")
    }
}

/// A start ended by the watchdog leaves what it did; the next start undoes
/// it first, with the stop script.
@Suite struct UnfinishedStart {
    @Test func theNextStartUndoesAStartTheWatchdogEnded() throws {
        let scratch = try Scratch()
        let config = try scratch.write("pkg.lua", "package { name = 'stuckpkg' }")
        try scratch.write(
            "site/scripts/start.lua",
            """
            runtime_write("trace", "the first step was done")
            if runtime_read("attempt") == nil then
              runtime_write("attempt", "1")
              \(Watchdog.backtracking)
            end
            """)
        try scratch.write("site/scripts/stop.lua", "runtime_write('trace', nil) runtime_write('undone', 'yes')")
        let env = ["HANFS_LOG_DIR": scratch.path + "/log", "HANFS_RUN_DIR": scratch.path + "/run"]
        let site = ["--site-dir", scratch.path + "/site"]
        let first = try hanfs(["start", "--config", config, "--deadline", "1"] + site, environment: env)
        #expect(first.status == 1)
        #expect(first.stderr.contains("past its deadline of 1 s"))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/run/stuckpkg.unfinished"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run/stuckpkg.started"))

        let second = try hanfs(["start", "--config", config] + site, environment: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("did not finish: its process was ended"))
        #expect(second.stderr.contains("undoing the unfinished start first"))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/run/stuckpkg.undone"))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/run/stuckpkg.started"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run/stuckpkg.unfinished"))
    }
}

/// Command lines and script calls a careless or hostile caller makes.
@Suite struct HostileCommandLines {
    @Test func aDeadlineThatIsNotANumberOfSecondsIsRefused() throws {
        let dir = try Scratch()
        let script = try dir.write("ok.lua", "print('ran')")
        for bad in ["0", "-1", "nan", "inf", "-inf", "1e400", "soon"] {
            let out = try hanfs(["run", "--deadline=\(bad)", script])
            #expect(out.status == 64, "\(bad)")
            #expect(out.stdout.isEmpty, "\(bad)")
            #expect(out.stderr.contains("\"\(bad)\" is not a number of seconds: a positive finite number expected"), "\(bad): \(out.stderr)")
        }
        #expect(try hanfs(["run", "--deadline", "0.5", script]).stdout == "ran\n")
        // The monitor's 0 is documented as "no limit"; a negative one is not.
        let config = try dir.write("pkg.lua", "package { name = 'p' }")
        let monitor = try hanfs(["monitor", "--config", config, "--deadline=-1"])
        #expect(monitor.status == 64)
        #expect(monitor.stderr.contains("(0: no limit)"))
    }

    @Test func aNulByteInAnArgumentIsNamed() throws {
        let dir = try Scratch()
        let script = try dir.write(
            "nul.lua",
            """
            print(run{"printf", "a\\0b", check = false}.error)
            run{"printf", "%s", "a\\0b"}
            """)
        let out = try hanfs(["run", "--dry-run", script])
        #expect(out.status == 1)
        #expect(out.stdout.hasPrefix("printf: argument 1 contains a NUL byte, which no program can receive\n"))
        #expect(out.stderr.contains("\(script):2: run: printf: argument 2 contains a NUL byte, which no program can receive"))
        // A path with a NUL never reaches a system call cut short.
        let paths = try dir.write(
            "nulpaths.lua",
            """
            print(pcall(sm_restore, "/tmp\\0/etc"))
            print(pcall(file_exists, "/etc\\0x"))
            print(pcall(flm_stop, { holding_dir = "/tmp\\0x" }))
            """)
        let refused = try hanfs(["run", "--dry-run", paths])
        #expect(refused.stdout.hasPrefix("""
            false\tbad argument #1 to 'sm_restore' (a string with a NUL byte)
            false\tbad argument #1 to 'file_exists' (a string with a NUL byte)
            false\tbad argument #1 to 'flm_stop' (field 'holding_dir': a string with a NUL byte)

            """), "\(refused.stdout)")
        // The log shows it escaped, not raw.
        #expect(out.stderr.contains("refused to run: printf %s $'a\\x00b'"))
        #expect(!out.stderr.utf8.contains(0))
    }

    @Test func theStatdCalloutTakesAClientNameThatLooksLikeAnOption() throws {
        let dir = try Scratch()
        let sm = dir.path + "/sm"
        let holding = dir.path + "/holding"
        try dir.write("sm/-client", smEntry("-client"))
        try FileManager.default.createDirectory(atPath: holding, withIntermediateDirectories: true)
        let link = dir.path + "/hanfs-statd-callout"
        #expect(symlink(hanfsBinary, link) == 0)
        let out = try output(
            [link, "add-client", "-client", "192.0.2.10"], environment: ["HANFS_SM_DIR": sm, "HANFS_HOLDING_DIR": holding])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try String(contentsOfFile: holding + "/-client", encoding: .utf8) == smEntry("-client"))
        // A name that is a path is refused, and nothing is written.
        let evil = try output(
            [link, "add-client", "../etc", "192.0.2.10"], environment: ["HANFS_SM_DIR": sm, "HANFS_HOLDING_DIR": holding])
        #expect(evil.status == 1)
        #expect(evil.stderr.contains("\"../etc\" is not an entry name"))
    }

    @Test func aLogFileHanfsDidNotMakeIsNeverWritten() throws {
        let dir = try Scratch()
        let env = ["HANFS_LOG_DIR": dir.path + "/log", "HANFS_RUN_DIR": dir.path + "/run"]
        let passwd = try dir.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        try dir.write("site/scripts/start.lua", "print('started')")
        let site = ["--site-dir", dir.path + "/site"]
        for (target, problem) in [
            (passwd, "exists and was not made by hanfs"),
            (dir.path + "/link.log", "a symbolic link, which is not followed"),
            ("/dev/null", "is a character device"),
        ] {
            if target.hasSuffix("link.log") { symlink(passwd, target) }
            let config = try dir.write("pkg.conf", "package_name p\nscript_log_file \(target)\n")
            #expect(try hanfs(["validate", "--config", config]).status == 0)
            let out = try hanfs(["start", "--config", config] + site, environment: env)
            #expect(out.status == 1, "\(target)")
            #expect(out.stdout.isEmpty, "\(target)")
            #expect(out.stderr.contains("cannot open the package log"), "\(target): \(out.stderr)")
            #expect(out.stderr.contains(problem), "\(target): \(out.stderr)")
        }
        #expect(try String(contentsOfFile: passwd, encoding: .utf8) == "root:x:0:0:root:/root:/bin/bash\n")
        // A hard link to it is refused too.
        #expect(link(passwd, dir.path + "/hard.log") == 0)
        let config = try dir.write("pkg.conf", "package_name p\nscript_log_file \(dir.path)/hard.log\n")
        #expect(try hanfs(["start", "--config", config] + site, environment: env).stderr.contains("hard links"))
        // In hanfs's own log directory, a log from before the header (an
        // upgrade) is appended to; elsewhere the same file is refused.
        let old = "2026-11-22T03:12:45.120Z start notice start p on node1\n"
        try dir.write("log/p.log", old)
        let plainConfig = try dir.write("plain.conf", "package_name p\n")
        #expect(try hanfs(["start", "--config", plainConfig] + site, environment: env).status == 0)
        #expect(try String(contentsOfFile: dir.path + "/log/p.log", encoding: .utf8).hasPrefix(old))
        try dir.write("elsewhere/p.log", old)
        let elsewhere = try dir.write("pkg.conf", "package_name p\nscript_log_file \(dir.path)/elsewhere/p.log\n")
        #expect(try hanfs(["start", "--config", elsewhere] + site, environment: env).stderr.contains("was not made by hanfs"))
        // A log hanfs made is appended to, its header first.
        let own = try dir.write("pkg.conf", "package_name p\nscript_log_file \(dir.path)/own.log\n")
        #expect(try hanfs(["start", "--config", own] + site, environment: env).status == 0)
        #expect(try hanfs(["start", "--config", own] + site, environment: env).status == 0)
        let text = try String(contentsOfFile: dir.path + "/own.log", encoding: .utf8)
        #expect(text.hasPrefix("# hanfs log (the package log)"))
        #expect(text.components(separatedBy: "start p done").count == 3)
    }
}

/// What a script logs or a command prints reaches the terminal and the
/// package log as text: a raw ESC or CR would drive the terminal or hide
/// the start of a line.
@Suite struct ControlCharactersInLogs {
    @Test func theyAreShownEscaped() throws {
        let dir = try Scratch()
        let script = try dir.write(
            "esc.lua", "log.info('red \\27[31m here\\rhidden') run{'printf', '\\27]0;title\\7'} run{'sh', '-c', 'printf \"\\\\033[2J\" >&2; exit 3', check = false}")
        let out = try hanfs(["run", script])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x0D || $0.value == 0x07 })
        #expect(out.stderr.contains("red \\u{1b}[31m here\\u{d}hidden"))
        #expect(out.stderr.contains("\\u{1b}[2J"))
    }
}
