import Actions
import Foundation
import Synchronization
import Testing

/// A site's hooks (stdlib/plan.lua): steps in their places, undone like
/// any step, planned, named; mistakes in them named by file and line.
@Suite struct SiteHooks {
    static let quotaAndBalancer = """
        local plan = require "plan"
        plan.after("mount", "quota on",
          function(pkg, step) record("site", "quota on " .. pkg.name .. " " .. step.part .. " " .. step.action) end,
          function(pkg, step) record("site", "quota off " .. step.action) end)
        plan.before("addresses", "tell the balancer",
          function() record("site", "balancer on") end,
          function() record("site", "balancer off") end)
        """

    @Test func hooksRunInTheirPlacesAndStopInReverse() throws {
        let bench = try ScriptBench(site: Self.quotaAndBalancer)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        let calls = recorder.calls
        let quota = try #require(calls.firstIndex(of: "site quota on p mount start"))
        #expect(calls[quota - 1] == "mount /srv/a/b" && calls[quota + 1] == "export /srv/a")
        let balancer = try #require(calls.firstIndex(of: "site balancer on"))
        #expect(calls[balancer - 1] == "export /srv/a/b" && calls[balancer + 1] == "ip_add 192.0.2.10")
        // The log names them.
        #expect(recorder.steps.contains("site: quota on") && recorder.steps.contains("site: tell the balancer"))

        #expect(bench.run("stop", recorder).outcome == .done(nil))
        let stop = Array(recorder.calls.dropFirst(calls.count))
        #expect(stop.firstIndex(of: "ip_remove 192.0.2.10")! + 1 == stop.firstIndex(of: "site balancer off"))
        // (The NLM locks taken through the address go with the exports.)
        #expect(stop.firstIndex(of: "nfs_unlock_ip 192.0.2.10")! + 1 == stop.firstIndex(of: "site quota off stop"))
        #expect(stop.firstIndex(of: "site quota off stop")! + 1 == stop.firstIndex(of: "umount /srv/a/b"))
    }

    @Test func aHookIsUndoneWhenALaterStepFails() throws {
        let bench = try ScriptBench(site: Self.quotaAndBalancer)
        let recorder = Recorder(failAt: "ip_add 192.0.2.10")
        guard case .failed(_, _, let undone) = bench.run("start", recorder).outcome else {
            Issue.record("the start succeeded")
            return
        }
        #expect(undone)
        let calls = recorder.calls
        #expect(calls.contains("site balancer off") && calls.contains("site quota off undo"))
        #expect(calls.firstIndex(of: "site quota off undo")! < calls.firstIndex(of: "umount /srv/a/b")!)
        #expect(recorder.up.isEmpty)
        #expect(recorder.steps.contains("undo: site: quota on"))
    }

    @Test func aFailingHookRollsTheStartBack() throws {
        let bench = try ScriptBench(site: """
            local plan = require "plan"
            plan.after("nfs_server", "check the quota", function() error("quota is off on /srv/a") end)
            """)
        let recorder = Recorder()
        guard case .failed(let why, _, let undone) = bench.run("start", recorder).outcome else {
            Issue.record("the start succeeded")
            return
        }
        #expect(why.contains("site.lua:2: quota is off on /srv/a"), "\(why)")
        #expect(undone && recorder.up.isEmpty)
        #expect(!recorder.calls.contains { $0.hasPrefix("ip_add") })
    }

    @Test func aMistakenHookIsNamedByItsLineAndNothingRuns() throws {
        for (site, message) in [
            ("local plan = require 'plan'\nplan.after('mnt', 'x', function() end)", "site.lua:2: plan.after: no part \"mnt\" (the parts: volume_groups, mount, nfs_server, addresses, lock_migration, monitor)"),
            ("local plan = require 'plan'\n\nplan.before('mount', 'x', 'quotaon')", "site.lua:3: plan.before(\"mount\", \"x\", ...): the start function is a string"),
            ("local plan = require 'plan'\nplan.replace('mount', 'a')\nplan.replace('mount', 'b')", "site.lua:3: plan.replace: part \"mount\" is replaced already (by \"a\")"),
            ("this is not lua", "site.lua:1:"),
        ] {
            let bench = try ScriptBench(site: site)
            let recorder = Recorder()
            guard case .failed(let why, _, _) = bench.run("start", recorder).outcome else {
                Issue.record("\(site): the start succeeded")
                continue
            }
            #expect(why.contains(message), "\(why)")
            #expect(recorder.calls.isEmpty)
        }
    }

    @Test func aPartReplacedByTheSite() throws {
        let bench = try ScriptBench(site: """
            require("plan").replace("addresses", "the site's addresses",
              function() record("site", "addresses up") end, function() record("site", "addresses down") end)
            """)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(recorder.calls.contains("site addresses up") && !recorder.calls.contains { $0.hasPrefix("ip_add") })
        #expect(bench.run("stop", recorder).outcome == .done(nil))
        #expect(recorder.calls.contains("site addresses down") && !recorder.calls.contains { $0.hasPrefix("ip_remove") })
    }

    /// The package's own hooks file comes after site.lua; a wrapped
    /// primitive is what mount_all calls.
    @Test func thePackagesHooksFileAndAWrappedPrimitive() throws {
        let scratch = try ScriptBench(site: """
            local plain = mount
            function mount(fs, options)
              record("site", "mounting " .. fs.directory)
              return plain(fs, options)
            end
            """)
        let hooks = try scratch.scratch.write("p-hooks.lua", """
            require("plan").after("volume_groups", "package hook", function() record("pkg", "hook") end)
            """)
        let bench = try ScriptBench(
            package: ScriptBench.fullPackage.replacingOccurrences(of: "monitor = { run = true } }", with: "monitor = { run = true }, hooks_file = \"\(hooks)\" }"),
            site: try String(contentsOfFile: scratch.scratch.path + "/site/site.lua", encoding: .utf8))
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        let calls = recorder.calls.filter { !$0.hasPrefix("ip_probe") }
        #expect(Array(calls[1...5]) == ["vg_activate vg02", "pkg hook", "fsck /srv/a", "site mounting /srv/a", "mount /srv/a"])
    }

    /// A hook's commands are in the plan of a dry run, with the package's own.
    @Test func aDryRunPlansTheHooks() throws {
        let bench = try ScriptBench(site: """
            require("plan").after("mount", "quota on", function() run{"quotaon", "-a"} end)
            """)
        let run = bench.run("start", Recorder(), planning: true)
        #expect(run.outcome == .done(nil), "\(run.outcome)")
        #expect(run.plan?.map(\.argv) == [["quotaon", "-a"]])
    }
}

/// The monitor (scripts/monitor.lua) over fake checks: retries, the
/// maintenance file, the Pacemaker agent's single cycle, the site's checks.
@Suite struct MonitorScript {
    static func package(_ scratch: String, retries: Int = 2) -> String {
        """
        package { name = "p", monitor = { retries = \(retries), interval = 1, services = "rpcbind",
                                          maintenance_file = "\(scratch)/maintenance" } }
        """
    }

    /// A check must fail retries + 1 times in a row to end the monitor.
    @Test func aCheckFailsRetriesPlusOneTimesInARow() throws {
        let bench = try ScriptBench(site: """
            local n = 0
            function rpc_ping()
              n = n + 1
              if n == 2 or n >= 4 then return false, "no answer" end
              return true
            end
            function sleep() record("sleep", "") end
            """)
        try bench.scratch.write("p.lua", Self.package(bench.scratch.path))
        let recorder = Recorder()
        let run = bench.run("monitor", recorder)
        guard case .failed(let why, _, _) = run.outcome else {
            Issue.record("\(run.outcome)")
            return
        }
        #expect(why == "monitor: rpcbind: no answer")
        // ok, miss, ok, miss, miss, miss: the sixth cycle ends it.
        #expect(recorder.calls.filter { $0 == "sleep" }.count == 5)
        #expect(try String(contentsOfFile: bench.scratch.path + "/run/p.monitor-failed", encoding: .utf8) == "rpcbind: no answer\n")
    }

    /// While the maintenance file is there, failures are logged, not acted on.
    @Test func theMaintenanceFileHoldsTheMonitor() throws {
        let bench0 = try ScriptBench()
        let maintenance = bench0.scratch.path + "/maintenance"
        let bench = try ScriptBench(
            package: Self.package(bench0.scratch.path, retries: 0),
            site: """
                function rpc_ping() return false, "no answer" end
                function sleep() record("sleep", "") end
                """)
        try bench0.scratch.write("maintenance", "")
        let sleeps = SleepCounter()
        let recorder = Recorder { call in
            if call == "sleep", sleeps.next() == 5 { try? FileManager.default.removeItem(atPath: maintenance) }
        }
        guard case .failed(let why, _, _) = bench.run("monitor", recorder).outcome else {
            Issue.record("the monitor ended well")
            return
        }
        #expect(why == "monitor: rpcbind: no answer")
        #expect(recorder.calls.filter { $0 == "sleep" }.count == 5)
    }

    /// One cycle (the OCF monitor) tries a failed check again, a second
    /// apart, up to monitor.retries times: one lost answer is not a failure.
    @Test func onceTriesAFailedCheckAgainBeforeItFails() throws {
        let package = """
            package { name = "p", monitor = { services = "rpcbind", retries = 2 } }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
            """
        let flaky = try ScriptBench(package: package, site: """
            local n = 0
            function rpc_ping() n = n + 1 return n > 1, "no answer" end
            function sleep() record("sleep", "") end
            """)
        let recorder = Recorder()
        #expect(flaky.run("start", recorder).outcome == .done(nil))
        #expect(flaky.run("monitor", recorder, arguments: ["once"]).outcome == .done(.running))
        #expect(recorder.calls.filter { $0 == "sleep" }.count == 1)

        let dead = try ScriptBench(package: package, site: """
            function rpc_ping() return false, "no answer" end
            function sleep() record("sleep", "") end
            """)
        let again = Recorder()
        #expect(dead.run("start", again).outcome == .done(nil))
        guard case .failed(let why, _, _) = dead.run("monitor", again, arguments: ["once"]).outcome else {
            Issue.record("a check that never answers passed")
            return
        }
        #expect(why == "monitor: rpcbind: no answer")
        #expect(again.calls.filter { $0 == "sleep" }.count == 2)
    }

    @Test func onceSaysNotRunningRunningOrWhatFailed() throws {
        let bench = try ScriptBench(
            package: """
                package { name = "p", monitor = { services = "rpcbind" } }
                filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
                """,
            site: """
                function rpc_ping() return true end
                require("plan").check("quota", function() return is_up("quota"), "quota is off" end)
                """)
        let recorder = Recorder()
        #expect(bench.run("monitor", recorder, arguments: ["once"]).outcome == .done(.notRunning))
        #expect(bench.run("start", recorder).outcome == .done(nil))
        guard case .failed(let why, _, _) = bench.run("monitor", recorder, arguments: ["once"]).outcome else {
            Issue.record("the site's check did not count")
            return
        }
        #expect(why == "monitor: quota: quota is off")
        recorder.setUp(recorder.up.union(["quota"]))
        #expect(bench.run("monitor", recorder, arguments: ["once"]).outcome == .done(.running))
    }
}

/// The toolkit's monitor settings, honoured: rpcbind's and lockd's own
/// retries, the transports checked, the sync's restarts.
@Suite struct ToolkitMonitorSettings {
    static let site = """
        function rpc_ping(o)
          record("ping", o.program .. " " .. o.transport)
          return o.program ~= 100000, "no answer"
        end
        function sleep() record("sleep", "") end
        function ip_present() return true end
        """

    func pings(_ package: String) throws -> (ActionOutcome, [String], Int) {
        let bench = try ScriptBench(package: package, site: Self.site)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        let outcome = bench.run("monitor", recorder, arguments: ["once"]).outcome
        return (outcome, recorder.calls.filter { $0.hasPrefix("ping") }, recorder.calls.filter { $0 == "sleep" }.count)
    }

    /// PORTMAP_RETRY and MONITOR_LOCKD_RETRY: each its check's own count of tries.
    @Test func rpcbindHasItsOwnRetries() throws {
        let (outcome, pings, sleeps) = try pings("""
            package { name = "p", monitor = { services = "rpcbind,nlockmgr", retries = 0, rpcbind_retries = 3 } }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
            """)
        guard case .failed(let why, _, _) = outcome else {
            Issue.record("a check that never answers passed")
            return
        }
        #expect(why == "monitor: rpcbind: no answer")
        #expect(sleeps == 3)
        #expect(pings == ["ping 100000 tcp", "ping 100021 udp", "ping 100000 tcp", "ping 100000 tcp", "ping 100000 tcp"])
    }

    /// SUPPORTED_NETIDS, and without it the families of the package's addresses.
    @Test(arguments: [
        ("\"2001:db8::10/64\"", "", ["ping 100021 udp6"]),
        ("\"192.0.2.10/24\" }\naddress { address = \"2001:db8::10/64\"", "", ["ping 100021 udp", "ping 100021 udp6"]),
        ("\"192.0.2.10/24\"", ", netids = \"tcp6 udp\"", ["ping 100021 tcp6", "ping 100021 udp"]),
    ])
    func theTransportsCheckedAreThePackages(_ address: String, _ netids: String, _ expected: [String]) throws {
        let (outcome, pings, _) = try pings("""
            package { name = "p", monitor = { services = "nlockmgr"\(netids) } }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
            address { address = \(address), interface = "eth1" }
            """)
        #expect(outcome == .done(.running))
        #expect(pings == expected)
    }

    /// NFS_FLM_RESTART: the monitor starts a sync that ended again, so many
    /// times from the package's start; NFS_FLM_MONITOR=NO: no check of it.
    @Test func aSyncThatEndedIsStartedAgainSoManyTimes() throws {
        let package = """
            package { name = "p", lock_migration = { enabled = true, holding_dir = "/srv/a/.sm", sm_dir = "/var/lib/nfs/sm",
                      sync_restarts = 1 }, monitor = { services = "nlockmgr", retries = 0 } }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
            """
        let bench = try ScriptBench(package: package, site: Self.site)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        recorder.setUp(recorder.up.subtracting(["flm"]))
        #expect(bench.run("monitor", recorder, arguments: ["once"]).outcome == .done(.running))
        #expect(recorder.calls.filter { $0 == "flm_start" }.count == 2)
        recorder.setUp(recorder.up.subtracting(["flm"]))
        guard case .failed(let why, _, _) = bench.run("monitor", recorder, arguments: ["once"]).outcome else {
            Issue.record("a second ended sync was started again")
            return
        }
        #expect(why == "monitor: sync: the sync into /srv/a/.sm is not running")

        let unwatched = try ScriptBench(
            package: package.replacingOccurrences(of: "sync_restarts = 1", with: "monitor_sync = false"), site: Self.site)
        let again = Recorder()
        #expect(unwatched.run("start", again).outcome == .done(nil))
        again.setUp(again.up.subtracting(["flm"]))
        #expect(unwatched.run("monitor", again, arguments: ["once"]).outcome == .done(.running))
    }

    /// MAINTENANCE_FLAG=NO: no maintenance mode; the file there changes nothing.
    @Test func withoutMaintenanceModeTheFileDoesNotHoldTheMonitor() throws {
        let bench = try ScriptBench(
            package: """
                package { name = "p", monitor = { retries = 0, interval = 1, services = "rpcbind", maintenance = false } }
                """,
            site: Self.site)
        // Where the maintenance file would be.
        try bench.scratch.write("run/p.maintenance", "")
        guard case .failed(let why, _, _) = bench.run("monitor", Recorder()).outcome else {
            Issue.record("the monitor went on")
            return
        }
        #expect(why == "monitor: rpcbind: no answer")
    }

    /// ACTIVATION_RETRY_COUNT: a failed activation tried again before start fails.
    @Test func aVolumeGroupsActivationIsTriedAgain() throws {
        let bench = try ScriptBench(
            package: """
                package { name = "p", vg_activation_retries = 2 }
                vg "vg01"
                """,
            site: "function sleep() record(\"sleep\", \"\") end")
        let recorder = Recorder(failAt: "vg_activate vg01", failures: 2)
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(recorder.calls == ["sleep", "sleep", "vg_activate vg01"])
        let never = Recorder(failAt: "vg_activate vg01")
        guard case .failed = bench.run("start", never).outcome else {
            Issue.record("an activation that always fails succeeded")
            return
        }
        #expect(never.calls.filter { $0 == "sleep" }.count == 2)
    }
}

final class SleepCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}
