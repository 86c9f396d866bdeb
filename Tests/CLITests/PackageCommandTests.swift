import Foundation
import Primitives
import TestSupport
import Testing

/// validate, and what start and stop do with a bad package file: exit 6 and
/// nothing run.
@Suite struct PackageCommands {
    @Test func validateSaysWhatThePackageHolds() throws {
        let scratch = try Scratch()
        let config = try scratch.write("pkg.conf", """
            package_name nfspkg
            vg vgnfs
            fs_name /dev/vgnfs/lv1
            fs_directory /srv/nfs/a
            ip_address 192.0.2.10
            tkit/nfs/nfs/XFS "-o rw,fsid=1 *:/srv/nfs/a"
            """)
        let out = try hanfs(["validate", "--config", config])
        #expect(out.status == 0)
        #expect(out.stdout == "\(config): package nfspkg is valid: 1 volume group, 1 file system, 1 export, 1 address; lock migration off\n")
    }

    /// The example package files the package ships (examples/) are valid.
    @Test(arguments: ["nfspkg.lua", "nfspkg.conf", "hanfs.conf"])
    func theShippedExamplesAreValid(_ name: String) throws {
        let out = try hanfs(["validate", "--config", checkoutDirectory + "/examples/" + name])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains(": package nfspkg is valid: "))
    }

    /// --node: what this node lacks, in one line; no traceback for an
    /// expected condition, no warning from asking the tools their versions.
    @Test func validateNodeSaysWhatTheNodeLacksInOneLine() throws {
        let scratch = try Scratch()
        let config = try scratch.write("pkg.conf", """
            package_name nfspkg
            fs_name /dev/hanfs-no-such-disk
            fs_directory /srv/nfs/a
            ip_address 192.0.2.10/24
            tkit/nfs/nfs/XFS "-o rw,fsid=1 *:/srv/nfs/a"
            tkit/nfs/nfs/LOCK_MIGRATION YES
            tkit/nfs/nfs/NFS_FLM_HOLDING_DIR /srv/nfs/a/.sm
            """)
        try scratch.write("pkg.lua", """
            package { name = "nfspkg" }
            address { address = "192.0.2.10/24", interface = "hanfs-eth9" }
            """)
        let out = try hanfs(["validate", "--node", "--config", config])
        #expect(out.status == 1)
        #expect(out.stdout.hasPrefix("\(config): package nfspkg is valid"))
        let errors = out.stderr.split(separator: "\n").filter { !$0.contains(" info ") }
        #expect(errors == ["hanfs: this node lacks what package nfspkg needs: device /dev/hanfs-no-such-disk is not there"], "\(out.stderr)")
        #expect(!out.stderr.contains("warning") && !out.stderr.contains("traceback"), "\(out.stderr)")
        let interface = try hanfs(["validate", "--node", "--config", scratch.path + "/pkg.lua"])
        #expect(interface.status == 1)
        #expect(interface.stderr.contains("hanfs: this node lacks what package nfspkg needs: interface hanfs-eth9 (for 192.0.2.10) is not on this node"),
                "\(interface.stderr)")
        let ready = try hanfs(["validate", "--node", "--config", scratch.write("ok.lua", "package { name = \"ok\" }\n")])
        #expect(ready.status == 0 && ready.stdout.hasSuffix(" can run package ok\n"), "\(ready.stdout)\(ready.stderr)")
    }

    @Test func aBadFileExitsSixNamingEveryMistakeAndRunsNothing() throws {
        let scratch = try Scratch()
        let config = try scratch.write("pkg.conf", """
            package_name nfspkg
            fs_name /dev/sdb1
            fs_directory srv/a
            tkit/nfs/nfs/XFS "-o rw *:/srv/a"
            colour blue
            """)
        let env = ["HANFS_LOG_DIR": scratch.path + "/log", "HANFS_RUN_DIR": scratch.path + "/run"]
        for command in ["validate", "start", "stop", "status"] {
            let out = try hanfs([command, "--config", config], environment: env)
            #expect(out.status == 6, "\(command)")
            #expect(out.stdout == "")
            #expect(out.stderr == """
                hanfs: \(config):3: fs_directory: "srv/a" is not an absolute path
                hanfs: \(config):4: XFS: export of /srv/a has no fsid: add fsid=N (unique in the package) so that clients keep their file handles after a failover
                hanfs: \(config):5: colour: unknown attribute

                """, "\(command)")
        }
        // Nothing was run: no log, no lock, no marker.
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/log"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run"))
    }

    @Test func theREPLHasThePackageAndThePrimitives() throws {
        let scratch = try Scratch()
        let config = try scratch.write("pkg.lua", """
            package { name = "nfspkg", mount_concurrency = 3 }
            filesystem { device = "/dev/sdb1", directory = "/srv/a", type = "ext4" }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 7 }
            """)
        let out = try hanfs(
            ["repl", "--config", config],
            input: "pkg.name\npkg.exports[1].fsid, pkg.concurrency.mount\ntype(mounts()), type(vg_activate)\n")
        #expect(out.status == 0, "\(out.stderr)")
        // Values print as the REPL prints them: strings quoted.
        #expect(out.stdout == "\"nfspkg\"\n7\t3\n\"table\"\t\"function\"\n")
    }

    @Test func aMissingFileIsAConfigurationError() throws {
        let out = try hanfs(["start", "--config", "/nonexistent/pkg.conf"])
        #expect(out.status == 6)
        #expect(out.stderr == "hanfs: /nonexistent/pkg.conf: no such file\n")
    }
}

/// The SM restore primitive from Lua: what it returns, and that a dry run plans it.
@Suite struct SMRestoreFromLua {
    @Test func restoresAndPlans() throws {
        let scratch = try Scratch()
        try scratch.write("holding/client1", smEntry("client1"))
        try FileManager.default.createDirectory(atPath: scratch.path + "/sm", withIntermediateDirectories: true)
        let script = try scratch.write("r.lua", """
            local r = sm_restore(arg[1] .. "/holding", { sm_dir = arg[1] .. "/sm" })
            print(#r.copied, r.copied[1], #r.skipped)
            """)
        let plan = try hanfs(["run", "--dry-run", script, scratch.path])
        #expect(plan.stdout.hasPrefix("1\tclient1\t0\n"), "\(plan.stderr)")
        #expect(plan.stderr.contains("would restore 1 SM entry"))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/holding/client1"))
        let run = try hanfs(["run", script, scratch.path])
        #expect(run.stdout == "1\tclient1\t0\n", "\(run.stderr)")
        #expect(try String(contentsOfFile: scratch.path + "/sm/client1", encoding: .utf8) == smEntry("client1"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/holding/client1"))
    }
}

/// The holding-directory sync: started and stopped from Lua, copying what
/// rpc.statd writes at once (not at the next periodic copy).
@Suite struct HoldingDirectorySync {
    func waitUntil(_ condition: () -> Bool) -> Bool { eventually(timeout: 2) { condition() ? true : nil } ?? false }

    @Test func entriesReachTheHoldingDirectoryAtOnce() throws {
        let scratch = try Scratch()
        let sm = scratch.path + "/sm"
        let holding = scratch.path + "/holding"
        for d in [sm, holding] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try scratch.write("sm/before", smEntry("before"))
        let start = try scratch.write("start.lua", "print(flm_start{ sm_dir = arg[1], holding_dir = arg[2], interval = 600 })")
        let stop = try scratch.write("stop.lua", "print(flm_stop{ holding_dir = arg[1] })")
        #expect(try hanfs(["run", start, sm, holding]).stdout == "done\n")
        #expect(try hanfs(["run", start, sm, holding]).stdout == "already\n")
        let fm = FileManager.default
        // The first full comparison copies what was there.
        #expect(waitUntil { fm.fileExists(atPath: holding + "/before") })
        // As rpc.statd writes an entry: aside, then renamed. The interval is
        // 600 s: only the event can bring it over.
        try smEntry("client1").write(toFile: sm + "/.client1.new", atomically: false, encoding: .utf8)
        rename(sm + "/.client1.new", sm + "/client1")
        #expect(waitUntil { fm.fileExists(atPath: holding + "/client1") })
        // A link planted in the SM directory is not followed.
        let secret = try scratch.write("secret", "not to be copied\n")
        symlink(secret, sm + "/evil")
        // A client that unmonitored: removed there too.
        unlink(sm + "/before")
        #expect(waitUntil { !fm.fileExists(atPath: holding + "/before") })
        #expect(!fm.fileExists(atPath: holding + "/evil"))
        // The sync is supervised: killed, it is started again, and keeps working.
        let worker = { ProcessTable.matching { $0.contains("--worker") && $0.contains(holding) }.first }
        let first = try #require(worker())
        kill(first, SIGKILL)
        #expect(waitUntil { worker().map { $0 != first } ?? false })
        try smEntry("client2").write(toFile: sm + "/client2", atomically: true, encoding: .utf8)
        #expect(waitUntil { fm.fileExists(atPath: holding + "/client2") })
        #expect(try hanfs(["run", stop, holding]).stdout == "done\n")
        #expect(ProcessTable.matching { $0.contains(holding) }.isEmpty)
        #expect(try hanfs(["run", stop, holding]).stdout == "already\n")
        #expect(try processes(withCommandLine: "\(hanfsBinary) flm --sm-dir \(sm) --holding \(holding) --interval 600.0").isEmpty)
    }
}

/// SLES-style lock migration restarts the kernel's lockd; without a kernel
/// NFS server (as on these machines) there is none, and it says so.
@Suite struct LockdRestart {
    @Test func withoutLockdItSaysSo() throws {
        let scratch = try Scratch()
        let script = try scratch.write("l.lua", "print(lockd_restart())")
        let out = try hanfs(["run", script])
        #expect(out.stdout == "false\n")
        #expect(out.stderr.contains("no lockd here (the kernel NFS server is not running)"))
    }
}

/// Beside the package log, each event is a JSON record that programs read.
@Suite struct PackageEventRecords {
    @Test func eachStepCommandAndActionIsARecord() throws {
        let dir = try Scratch()
        try dir.write("site/scripts/start.lua", """
            set_step("first")
            run{"true"}
            set_step("second")
            run{"sh", "-c", "exit 3", check = false}
            """)
        let config = try dir.write("p.conf", "package_name p\n")
        let env = ["HANFS_LOG_DIR": dir.path + "/log", "HANFS_RUN_DIR": dir.path + "/run"]
        #expect(try hanfs(["start", "--config", config, "--site-dir", dir.path + "/site"], environment: env).status == 0)
        let text = try String(contentsOfFile: dir.path + "/log/p.log.jsonl", encoding: .utf8)
        #expect(text.hasPrefix("{\"hanfs_log\": \"the package events\"}\n"))
        let records = PackageEvents.read(dir.path + "/log/p.log.jsonl")
        #expect(records.map { $0["event"] as? String ?? "?" } == ["action", "step", "command", "step", "command", "action"])
        #expect(records.allSatisfy { $0["action"] as? String == "start" && ($0["time"] as? String)?.hasSuffix("Z") == true })
        #expect(records[0]["phase"] as? String == "start" && records[5]["phase"] as? String == "done")
        #expect(records[1]["step"] as? String == "first" && records[3]["step"] as? String == "second")
        #expect(records[2]["argv"] as? [String] == ["true"] && records[2]["exit_status"] as? Int == 0)
        #expect(records[4]["argv"] as? [String] == ["sh", "-c", "exit 3"] && records[4]["exit_status"] as? Int == 3)
        #expect(records[4]["step"] as? String == "second" && records[4]["duration_ms"] is Int)
        // A file hanfs did not make is not appended to, as for the log itself.
        try dir.write("elsewhere/p.log.jsonl", "{\"something\": \"else\"}\n")
        let elsewhere = try dir.write("q.conf", "package_name p\nscript_log_file \(dir.path)/elsewhere/p.log\n")
        let refused = try hanfs(["start", "--config", elsewhere, "--site-dir", dir.path + "/site"], environment: env)
        #expect(refused.status == 1 && refused.stderr.contains("cannot open the package events"), "\(refused.stderr)")
    }
}

/// A dry run lists the changes besides commands, and makes none of them.
@Suite struct DryRunChanges {
    @Test func theChangesBesidesCommandsAreListedAndNotMade() throws {
        let dir = try Scratch()
        try dir.write("site/scripts/start.lua", """
            run{"touch", "/tmp/never-made-by-a-plan"}
            runtime_write("note", "value")
            """)
        let config = try dir.write("p.conf", "package_name p\n")
        let env = ["HANFS_LOG_DIR": dir.path + "/log", "HANFS_RUN_DIR": dir.path + "/run"]
        let out = try hanfs(["start", "--dry-run", "--config", config, "--site-dir", dir.path + "/site"], environment: env)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("plan: 1 command\n1. touch /tmp/never-made-by-a-plan    (timeout 60.0 s)\n"), "\(out.stdout)")
        #expect(out.stdout.contains("and 1 change besides commands:\n- write \(dir.path)/run/p.note\n"), "\(out.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run/p.note"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-made-by-a-plan"))
    }
}

/// validate loads the site's hooks too (in a plan: nothing they call runs),
/// so that a mistake in them shows before a failover does.
@Suite struct ValidateChecksHooks {
    @Test func aMistakeInTheHooksIsAConfigurationError() throws {
        let dir = try Scratch()
        let hooks = try dir.write("p-hooks.lua", "require('plan').after('mount', 'stamp', function() run{'touch', '/tmp/x'} end)\n")
        let config = try dir.write("p.conf", "package_name p\nhooks_file \(hooks)\n")
        try dir.write("site/site.lua", "local plan = require 'plan'\n")
        let site = ["--site-dir", dir.path + "/site"]
        let good = try hanfs(["validate", "--config", config] + site)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.hasSuffix("; hooks \(dir.path)/site/site.lua, \(hooks)\n"), "\(good.stdout)")

        try dir.write("site/site.lua", "local plan = require 'plan'\nplan.after('mnt', 'x', function() end)\n")
        let bad = try hanfs(["validate", "--config", config] + site)
        #expect(bad.status == 6)
        #expect(bad.stderr.contains("hanfs: site hooks: \(dir.path)/site/site.lua:2: plan.after: no part \"mnt\""), "\(bad.stderr)")
        // A hooks file that is not there.
        let missing = try dir.write("q.conf", "package_name p\nhooks_file \(dir.path)/none.lua\n")
        let absent = try hanfs(["validate", "--config", missing])
        #expect(absent.status == 6 && absent.stderr.contains("site hooks: ") && absent.stderr.contains("none.lua"), "\(absent.stderr)")
    }
}

/// The REPL is the scripts' world: the site's hooks are loaded, and help is there.
@Suite struct ReplSeesTheSite {
    @Test func theSitesHooksAndHelp() throws {
        let dir = try Scratch()
        try dir.write("site/site.lua", "require('plan').after('mount', 'hello', function() end)\nsite_was_here = 42\n")
        let out = try hanfs(["repl", "--site-dir", dir.path + "/site"], input: "site_was_here\nhelp(ip_add)\n")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("42\nip_add(a, {arp_count, arp_interval, dad_timeout, timeout})\n"), "\(out.stdout)")
    }
}
