import Actions
import Foundation
import Testing

/// start.lua and stop.lua over the package's parts (stdlib/plan.lua), run in
/// this process against recording fakes: the order, the rollback after a
/// failure at every step, and what Serviceguard leaves to itself.
@Suite struct StartAndStop {
    static let startCalls = [
        // Begun before the first step, in the background: the address's duplicate probe.
        "ip_probe 192.0.2.10",
        "vg_activate vg01", "vg_activate vg02",
        "fsck /srv/a", "mount /srv/a", "fsck /srv/a/b", "mount /srv/a/b",
        "export /srv/a", "export /srv/a/b",
        "ip_add 192.0.2.10", "connections_prompt",
        "lock_migration_claim", "flm_stop", "sm_restore /srv/a/.sm", "nsm_state_new /var/lib/nfs", "statd_restart",
        "flm_start", "sm_notify",
        "monitor_start",
    ]

    @Test func startRunsThePartsInTheToolkitsOrder() throws {
        let bench = try ScriptBench()
        let recorder = Recorder()
        let run = bench.run("start", recorder)
        #expect(run.outcome == .done(nil), "\(run.outcome)")
        #expect(recorder.calls == Self.startCalls)
        #expect(recorder.up == [
            "vg vg01", "vg vg02", "fs /srv/a", "fs /srv/a/b", "export /srv/a", "export /srv/a/b", "ip 192.0.2.10",
            "claim", "flm", "statd", "notify", "monitor",
        ])
        #expect(recorder.steps.first == "activate volume group vg01")
        #expect(recorder.steps.contains("check and mount 2 file system(s)"))
        // The marker says the package is started here.
        #expect(FileManager.default.fileExists(atPath: bench.scratch.path + "/run/p.started"))
    }

    @Test func stopIsTheExactReverse() throws {
        let bench = try ScriptBench()
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        let started = recorder.calls.count
        #expect(bench.run("stop", recorder).outcome == .done(nil))
        #expect(Array(recorder.calls.dropFirst(started)) == [
            "monitor_stop", "flm_stop", "sm_notify_stop /var/lib/nfs", "lock_migration_release",
            "connections_record", "ip_remove 192.0.2.10", "unexport /srv/a/b", "unexport /srv/a", "nfs_unlock_ip 192.0.2.10",
            "umount /srv/a/b", "umount /srv/a",
            "vg_deactivate vg02", "vg_deactivate vg01",
        ])
        // Only statd stays as lock migration left it (restarted as the package); the rest is down.
        #expect(recorder.up == ["statd"])
        #expect(!FileManager.default.fileExists(atPath: bench.scratch.path + "/run/p.started"))
    }

    /// Whichever step fails, what the start had done is undone: nothing of the package stays up.
    @Test(arguments: startCalls.filter { $0 != "connections_prompt" }) func aFailureAtAnyStepLeavesNothingUp(_ failing: String) throws {
        let bench = try ScriptBench()
        let recorder = Recorder(failAt: failing)
        let run = bench.run("start", recorder)
        guard case .failed(let why, _, let undone) = run.outcome else {
            Issue.record("\(failing): \(run.outcome)")
            return
        }
        #expect(why.contains("injected failure: \(failing)"))
        #expect(undone)
        #expect(recorder.up.isEmpty, "\(failing): left up \(recorder.up.sorted())")
        // Nothing to undo when the call before the first step fails, or the first step itself.
        #expect(recorder.steps.contains { $0.hasPrefix("undo: ") } == !Self.startCalls.prefix(2).contains(failing))
        #expect(!FileManager.default.fileExists(atPath: bench.scratch.path + "/run/p.started"))
    }

    /// A stop ends at its first failure: a volume group is never released
    /// while its file systems may still be mounted.
    @Test func aStopThatFailsGoesNoFurther() throws {
        let bench = try ScriptBench()
        let recorder = Recorder(failAt: "umount /srv/a")
        #expect(bench.run("start", recorder).outcome == .done(nil))
        guard case .failed(let why, _, _) = bench.run("stop", recorder).outcome else {
            Issue.record("the stop succeeded")
            return
        }
        #expect(why.contains("umount /srv/a"))
        #expect(recorder.isUp("vg vg01") && recorder.isUp("vg vg02") && recorder.isUp("fs /srv/a"))
        #expect(!recorder.calls.contains { $0.hasPrefix("vg_deactivate") })
    }

    /// The clients' connections are a help, never a condition: a record
    /// that cannot be written or read fails neither start nor stop.
    @Test(arguments: ["connections_prompt", "connections_record"])
    func theClientsConnectionsNeverFailThePackage(_ failing: String) throws {
        let bench = try ScriptBench()
        let recorder = Recorder(failAt: failing)
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(recorder.isUp("ip 192.0.2.10") && recorder.isUp("monitor"))
        #expect(bench.run("stop", recorder).outcome == .done(nil))
        #expect(recorder.up == ["statd"])
        #expect(recorder.steps.contains(failing == "connections_prompt"
            ? "prompt the recorded clients to reconnect" : "record the clients' connections"))
    }

    /// `reconnect_clients = false`: no record, no prompt.
    @Test func noReconnectingClientsAsked() throws {
        let bench = try ScriptBench(package: ScriptBench.fullPackage.replacingOccurrences(
            of: "package { name = \"p\",", with: "package { name = \"p\", reconnect_clients = false,"))
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(bench.run("stop", recorder).outcome == .done(nil))
        #expect(!recorder.calls.contains { $0.hasPrefix("connections_") }, "\(recorder.calls)")
    }

    /// Under Serviceguard the volume groups, file systems and addresses are
    /// the cluster manager's: `parts` leaves them out, start and stop alike.
    @Test func serviceguardsPartsAreLeftToIt() throws {
        let bench = try ScriptBench()
        let recorder = Recorder()
        #expect(bench.run("start", recorder, clusterManager: true).outcome == .done(nil))
        #expect(!recorder.calls.contains { $0.hasPrefix("vg_") || $0.hasPrefix("mount") || $0.hasPrefix("fsck") || $0.hasPrefix("ip_") })
        #expect(recorder.calls.first == "export /srv/a")
        #expect(bench.run("stop", recorder, clusterManager: true).outcome == .done(nil))
        #expect(!recorder.calls.contains { $0.hasPrefix("vg_") || $0.hasPrefix("umount") || $0.hasPrefix("ip_") })
        #expect(recorder.up == ["statd"])
    }

    /// A plain start asks for the volume groups as they are; a start that may
    /// take over (the OCF agent, `--takeover`) says so to vg_activate.
    @Test func onlyATakeoverStartAsksToTakeOver() throws {
        let bench = try ScriptBench()
        let plain = Recorder()
        #expect(bench.run("start", plain).outcome == .done(nil))
        #expect(plain.calls.filter { $0.hasPrefix("vg_") }.prefix(2) == ["vg_activate vg01", "vg_activate vg02"])
        #expect(bench.run("stop", plain).outcome == .done(nil))
        let takeover = Recorder()
        #expect(bench.run("start", takeover, takeover: true).outcome == .done(nil))
        #expect(takeover.calls.filter { $0.hasPrefix("vg_") }.prefix(2) == ["vg_activate vg01 takeover", "vg_activate vg02 takeover"])
    }

    @Test func underNFSGaneshaTheServerIsOnePart() throws {
        let bench = try ScriptBench(package: """
            package { name = "p", nfs_server = "ganesha" }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv", type = "ext4" }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 1 }
            export { directory = "/srv/b", clients = "*", options = "rw", fsid = 2 }
            """)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(recorder.calls == ["fsck /srv", "mount /srv", "nfs_server_start"])
        #expect(bench.run("stop", recorder).outcome == .done(nil))
        #expect(recorder.calls.suffix(2) == ["nfs_server_stop", "umount /srv"])
    }

    /// The kernel server the package runs: started after the mounts and
    /// before the exports (in grace before the address is up and the clients
    /// told); on stop, the NLM locks taken through the address dropped and
    /// the server stopped before the unmount; undone when a later step fails.
    @Test func theKernelServerThePackageRunsStartsBeforeTheExportsAndStopsBeforeTheUnmount() throws {
        let bench = try ScriptBench(package: """
            package { name = "p", kernel = { manage = true } }
            filesystem { device = "/dev/vg01/lv1", directory = "/srv", type = "ext4" }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 1 }
            address { address = "192.0.2.10/24", interface = "eth1" }
            """)
        let recorder = Recorder()
        #expect(bench.run("start", recorder).outcome == .done(nil))
        #expect(recorder.calls == ["ip_probe 192.0.2.10", "fsck /srv", "mount /srv", "kernel_server_start", "export /srv/a", "ip_add 192.0.2.10", "connections_prompt"])
        let stop = Recorder()
        #expect(bench.run("stop", stop).outcome == .done(nil))
        #expect(stop.calls == ["connections_record", "ip_remove 192.0.2.10", "unexport /srv/a", "nfs_unlock_ip 192.0.2.10", "kernel_server_stop", "umount /srv"])
        let failed = Recorder(failAt: "export /srv/a")
        #expect(bench.run("start", failed).outcome != .done(nil))
        #expect(!failed.isUp("kernel") && !failed.isUp("fs"), "\(failed.calls)")
    }

    /// A start's plan with the real primitives: commands listed, none run.
    @Test func theDryRunPlanListsTheCommandsInOrder() throws {
        let bench = try ScriptBench(
            package: """
                package { name = "p" }
                export { directory = "/srv/hanfs-plan-test", clients = "*", options = "rw", fsid = 7 }
                address { address = "192.0.2.10/24", interface = "hanfs-none0" }
                """,
            site: """
                local plan = require "plan"
                plan.after("nfs_server", "quota on", function() run{"quotaon", "-a"} end)
                """)
        let run = bench.run("start", nil, planning: true)
        #expect(run.outcome == .done(nil), "\(run.outcome)")
        let plan = try #require(run.plan).map(\.argv)
        #expect(plan.count == 4)
        #expect(plan.first == ["exportfs", "-o", "rw,fsid=7", "*:/srv/hanfs-plan-test"])
        #expect(plan.dropFirst().first == ["quotaon", "-a"])
        #expect(plan.dropFirst(2).first == ["ip", "addr", "add", "192.0.2.10/24", "dev", "hanfs-none0"])
        #expect(plan.last?.contains("announce") == true)
        // Planning leaves no marker and no lock behind.
        #expect(!FileManager.default.fileExists(atPath: bench.scratch.path + "/run/p.started"))
    }
}
