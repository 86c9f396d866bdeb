import Foundation
import TestSupport
import Testing

/// Lock migration's first parts on the real daemons (issue #4, started): the
/// SM entries kept on the package's storage are restored, and sm-notify tells
/// the client's own rpc.statd, in its own namespaces, that the package restarted.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct CrashNotificationReachesClients {
    static let entry = "0100007f 000186b5 00000003 00000010 00000000000000000000000000000000 client1 nfspkg\n"

    func prepare(_ lab: Lab) throws -> (config: String, log: String) {
        let config = try StartStop.package(lab)
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        // The node's status monitor, and the entry the old node left on the package's storage.
        try lab.prepareNodeStatusMonitor(rpcbind: false)
        try lab.inNode(["mkdir", "-p", "/srv/nfs/fs0/.flm"])
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /srv/nfs/fs0/.flm/client1 && chown statd /srv/nfs/fs0/.flm/client1", "sh", Self.entry])
        return (config, try lab.startClientStatd(name: "client1"))
    }

    func waitFor(_ text: String, in log: String) -> String {
        var seen = ""
        for _ in 0..<100 {
            seen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if seen.contains(text) { break }
            usleep(100_000)
        }
        return seen
    }

    @Test func theClientHearsFromThePackage() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (_, log) = try prepare(lab)
        let script = try lab.writeScript("lm.lua", """
            local r = sm_restore("/srv/nfs/fs0/.flm", { sm_dir = "/var/lib/nfs/sm" })
            print(table.concat(r.copied, ","))
            sm_notify{ as = "nfspkg", state_dir = "/var/lib/nfs", retry_minutes = 1 }
            """)
        let run = try lab.hanfs(["run", script])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "client1\n")
        let seen = waitFor("Received SM_NOTIFY from nfspkg", in: log)
        #expect(seen.contains("Received SM_NOTIFY from nfspkg"), "client statd: \(seen)")
        #expect(try lab.inNode(["ls", "-A", "/srv/nfs/fs0/.flm"]).stdout == "")
    }

    @Test func everyPackageAddressNotifiesFromItsOwnCopy() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (_, log) = try prepare(lab)
        try lab.sh(["ip", "-n", lab.nodeNS, "addr", "add", "192.0.2.11/24", "dev", lab.interface])
        let script = try lab.writeScript("lm2.lua", """
            sm_restore("/srv/nfs/fs0/.flm", { sm_dir = "/var/lib/nfs/sm" })
            local dirs = sm_notify{ as = { "nfspkg", "nfspkg2" }, state_dir = "/var/lib/nfs", retry_minutes = 1 }
            print(#dirs, dirs[1])
            """)
        let run = try lab.hanfs(["run", script])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "2\t/var/lib/nfs\n")
        let seen = waitFor("Received SM_NOTIFY from nfspkg2", in: log)
        #expect(seen.contains("Received SM_NOTIFY from nfspkg,"), "client statd: \(seen)")
        #expect(seen.contains("Received SM_NOTIFY from nfspkg2,"), "client statd: \(seen)")
    }

    @Test func statdRestartsAsThePackageWithHanfsAsItsCallout() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        _ = try prepare(lab)
        try lab.inNode(["rpcbind", "-w"])
        let script = try lab.writeScript("statd.lua", """
            statd_restart{ name = "nfspkg", state_dir = "/var/lib/nfs", holding_dir = "/srv/nfs/fs0/.flm", timeout = 10 }
            print(nsm_state_new("/var/lib/nfs") % 2)
            """)
        let run = try lab.hanfs(["run", script])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "0\n")
        #expect(try lab.inNode(["rpcinfo", "-p"]).stdout.contains("100024"))
        let statd = lab.processesInNode(withCommandLine:
            "rpc.statd --no-notify -n nfspkg -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout")
        #expect(statd.count == 1)
        // What statd does when a client starts and stops being monitored:
        // its callout copies the entry to the holding directory at once, then removes it.
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /var/lib/nfs/sm/client2", "sh", Self.entry])
        let env = ["env", "HANFS_SM_DIR=/var/lib/nfs/sm", "HANFS_HOLDING_DIR=/srv/nfs/fs0/.flm", "/run/hanfs/hanfs-statd-callout"]
        try lab.inNode(env + ["add-client", "client2", "nfspkg"])
        #expect(try lab.inNode(["cat", "/srv/nfs/fs0/.flm/client2"]).stdout == Self.entry)
        // With no sync running (the package is leaving: its NFS server unmonitors every
        // client as it goes), a removal is not passed on: the next node must notify client2.
        try lab.inNode(["rm", "/var/lib/nfs/sm/client2"])
        try lab.inNode(env + ["del-client", "client2", "nfspkg"])
        #expect(try lab.inNode(["ls", "-A", "/srv/nfs/fs0/.flm"]).stdout == "client1\nclient2\n")
        // While the sync runs, it is.
        let sync = try lab.writeScript("sync.lua", "flm_start{ holding_dir = '/srv/nfs/fs0/.flm', sm_dir = '/var/lib/nfs/sm' }")
        #expect(try lab.hanfs(["run", sync]).status == 0)
        try lab.inNode(env + ["del-client", "client2", "nfspkg"])
        #expect(try !lab.inNode(["ls", "-A", "/srv/nfs/fs0/.flm"]).stdout.contains("client2"))
        let end = try lab.writeScript("end.lua", "flm_stop{ holding_dir = '/srv/nfs/fs0/.flm' }")
        #expect(try lab.hanfs(["run", end]).status == 0)
        // The client's statd, in another network namespace, is another node's: left alone.
        #expect(try lab.inClientNamespaces(["rpcinfo", "-p"]).stdout.contains("100024"))
        // A second restart replaces the first statd.
        #expect(try lab.hanfs(["run", script]).status == 0)
        #expect(lab.processesInNode(withCommandLine:
            "rpc.statd --no-notify -n nfspkg -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout").count == 1)
    }

    /// A package with lock migration on, whose holding directory (on its
    /// file system) names client1, on a node with rpcbind and an empty
    /// status monitor; and client1's statd. Returns the package file and the statd log.
    func lockMigrationPackage(_ lab: Lab, monitor: String = "") throws -> (config: String, log: String) {
        // The old node left client1's entry in the holding directory on the package's storage.
        try lab.inNode(["mkdir", "-p", "/mnt/prep"])
        try lab.inNode(["mount", lab.devices[0], "/mnt/prep"])
        try lab.inNode(["mkdir", "/mnt/prep/.flm"])
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /mnt/prep/.flm/client1 && chown statd /mnt/prep/.flm/client1", "sh", Self.entry])
        // And one for a client that has gone away for good.
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /mnt/prep/.flm/ghost", "sh",
                        Self.entry.replacingOccurrences(of: "client1", with: "ghost")])
        let hosts = try FileHandle(forWritingTo: URL(fileURLWithPath: lab.hostsFile))
        hosts.seekToEndOfFile()
        hosts.write("192.0.2.200 ghost\n".data(using: .utf8)!)
        try hosts.close()
        try lab.inNode(["umount", "/mnt/prep"])
        // This node's status monitor, as nfs-common leaves it; and its rpcbind.
        try lab.prepareNodeStatusMonitor()
        let log = try lab.startClientStatd(name: "client1")
        let config = try StartStop.package(
            lab, extra: ", lock_migration = { enabled = true, holding_dir = \"/srv/nfs/fs0/.flm\", sm_dir = \"/var/lib/nfs/sm\", notify_retry_minutes = 1 }" + monitor)
        return (config, log)
    }

    @Test func aStartWithRpcbindStoppedRollsBackAtOnceAndLeavesStatdAsItWas() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, _) = try lockMigrationPackage(lab)
        try lab.inNode(["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
        let statd = try #require(lab.processInNode(named: "rpc.statd"))
        let rpcbind = try #require(lab.processInNode(named: "rpcbind"))
        kill(rpcbind, SIGSTOP)
        defer { kill(rpcbind, SIGCONT) }
        let began = Date()
        let start = try lab.hanfs(["start", "--config", config])
        let took = Date().timeIntervalSince(began)
        #expect(start.status == 1)
        #expect(start.stderr.contains("rpcbind does not answer on this node"), "\(start.stderr)")
        #expect(took < 15, "the start took \(took) s to roll back")
        // The same statd, still running; and nothing of the package.
        #expect(lab.processInNode(named: "rpc.statd") == statd)
        try StartStop.expectClean(lab)
    }

    @Test func aStartFailingAfterTheStatdRestartPutsTheOldStatdBack() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, _) = try lockMigrationPackage(lab)
        try lab.inNode(["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
        // A site's start: the shipped steps, then one that fails.
        let site = "\(lab.dir)/site"
        try FileManager.default.createDirectory(atPath: site + "/scripts", withIntermediateDirectories: true)
        try """
            local steps = require "steps"
            local start = steps.new("start " .. pkg.name)
            start:run(function()
              start:step("mount", function() mount_all(pkg.filesystems) end, function() umount_all(pkg.filesystems) end)
              require("lockmigration").start(start)
              start:step("a site's step", function() error("the site's step failed", 0) end)
            end)
            """.write(toFile: site + "/scripts/start.lua", atomically: true, encoding: .utf8)
        let start = try lab.hanfs(["start", "--site-dir", site, "--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.contains("the site's step failed"), "\(start.stderr)")
        // The statd that ran before, as it ran; not the package's.
        #expect(lab.processesInNode(withCommandLine: "rpc.statd --no-notify -P /var/lib/nfs").count == 1)
        #expect(try !lab.inNode(["ps", "-eo", "args"]).stdout.contains("rpc.statd --no-notify -n"))
        #expect(try lab.inNode(["rpcinfo", "-p"]).stdout.contains("100024"))
        try StartStop.expectClean(lab)
    }

    @Test func startMigratesTheLocksAndStopEndsTheSync() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, log) = try lockMigrationPackage(lab)
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        // Sent as the package address, which the lab's hosts file names nfspkg;
        // with a fresh state number, not the 3 a plain statd start gives.
        let seen = waitFor("Received SM_NOTIFY from nfspkg", in: log)
        #expect(seen.contains("Received SM_NOTIFY from nfspkg"), "client statd: \(seen)")
        #expect(!seen.contains("Received SM_NOTIFY from nfspkg, state: 3\n"))
        // A client that is gone (no host answers for it) is retried in the background, not waited for.
        let notifying = { lab.processesInNode(withCommandLine: "sm-notify -f -m 1 -v 192.0.2.10 -P /var/lib/nfs") }
        #expect(notifying().count == 1)
        // The sync runs: an entry statd writes now is in the holding directory at once.
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /var/lib/nfs/sm/client9", "sh", Self.entry])
        var held = ""
        for _ in 0..<50 {
            held = try lab.inNode(["ls", "-A", "/srv/nfs/fs0/.flm"]).stdout
            if held.contains("client9") { break }
            usleep(20_000)
        }
        #expect(held.contains("client9"))

        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("stopped the sync into /srv/nfs/fs0/.flm"))
        #expect(notifying().isEmpty)
        try StartStop.expectClean(lab)
    }

    /// `hanfs status --json` and `--prometheus` on a running package: the
    /// document parses and says each part, the monitor's last cycle and the
    /// sync; the metrics read with Prometheus's own parser (Debian's
    /// python3-prometheus-client).
    @Test func statusAsJSONAndAsPrometheusMetrics() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, _) = try lockMigrationPackage(lab, monitor: ", monitor = { services = \"rpcbind,status\", retries = 0 }")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        let once = try lab.hanfs(["run", "--config", config, "monitor", "once"])
        #expect(once.status == 0, "\(once.stderr)")

        let json = try lab.hanfs(["status", "--config", config, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(doc["schema"] as? String == "hanfs.status/1" && doc["package"] as? String == "labpkg" && doc["node"] as? String == "node1")
        #expect(doc["up"] as? Bool == true && doc["started"] as? Bool == true)
        let items = try #require(doc["items"] as? [[String: Any]])
        #expect(items.map { $0["item"] as? String } == [
            "vg vglab", "fs /srv/nfs/fs0", "export 192.0.2.0/24:/srv/nfs/fs0", "address 192.0.2.10", "sync into /srv/nfs/fs0/.flm", "rpc.statd",
        ])
        #expect(items.allSatisfy { $0["up"] as? Bool == true }, "\(items)")
        let cycle = try #require((doc["monitor"] as? [String: Any])?["last_cycle"] as? [String: Any])
        let checks = try #require(cycle["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["name"] as? String }.prefix(2) == ["rpcbind", "status"])
        #expect(checks.allSatisfy { $0["ok"] as? Bool == true && ($0["seconds"] as? Double ?? -1) >= 0 }, "\(checks)")
        let lm = try #require(doc["lock_migration"] as? [String: Any])
        #expect(lm["sync_running"] as? Bool == true && lm["notified_by_running_statd"] as? Bool == true)
        #expect((lm["sync_lag"] as? [String: Any])?["unsynced"] as? Int == 0, "\(lm)")
        let lastStart = try #require(doc["last_start"] as? [String: Any])
        #expect(lastStart["result"] as? String == "done")

        let metrics = try lab.hanfs(["status", "--config", config, "--prometheus"])
        #expect(metrics.status == 0, "\(metrics.stderr)")
        let parsed = try Self.parsePrometheus(metrics.stdout)
        #expect(parsed["hanfs_package_up{package=labpkg}"] == 1, "\(parsed)")
        #expect(parsed["hanfs_check_up{check=status,package=labpkg}"] == 1)
        #expect(parsed["hanfs_part_up{item=vg vglab,package=labpkg,part=volume_groups}"] == 1)
        #expect(parsed["hanfs_actions_total{action=start,package=labpkg,result=done}"] == 1)
        #expect(parsed["hanfs_lock_migration_sync_lag_seconds{package=labpkg}"] == 0)
        #expect(parsed["hanfs_last_action_success{action=start,package=labpkg}"] == 1)
        #expect(parsed.keys.contains("hanfs_check_duration_seconds{check=rpcbind,package=labpkg}"))

        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        let after = try Self.parsePrometheus(try lab.hanfs(["status", "--config", config, "--prometheus"]).stdout)
        #expect(after["hanfs_package_up{package=labpkg}"] == 0)
        #expect(after["hanfs_actions_total{action=stop,package=labpkg,result=done}"] == 1)
        try StartStop.expectClean(lab)
    }

    /// Each sample as `name{label=value,...}` (labels sorted) and its value,
    /// read by prometheus_client's parser, which refuses malformed text.
    static func parsePrometheus(_ text: String) throws -> [String: Double] {
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    print(f"{s.name}{{{labels}}}\t{s.value}")
            """
        let out = try output(["/usr/bin/python3", "-c", script], input: text)
        #expect(out.status == 0, "\(out.stderr)")
        var samples: [String: Double] = [:]
        for line in out.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count == 2 { samples[String(parts[0])] = Double(parts[1]) }
        }
        return samples
    }

    @Test func lockMigrationAloneAndWhenItIsOff() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab)
        let off = try lab.hanfs(["lock-migration", "--config", config])
        #expect(off.status == 0)
        #expect(off.stdout == "lock migration is off for labpkg\n")
    }

    @Test func aHundredClientsAreAllNotified() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (_, log) = try prepare(lab)
        // 100 monitored hosts, all names of the client (its statd hears each one).
        let names = (1...100).map { String(format: "host%03d", $0) }
        let hosts = try FileHandle(forWritingTo: URL(fileURLWithPath: lab.hostsFile))
        hosts.seekToEndOfFile()
        hosts.write(names.map { "192.0.2.100 \($0)\n" }.joined().data(using: .utf8)!)
        try hosts.close()
        for name in names {
            try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > \"/srv/nfs/fs0/.flm/$2\"", "sh",
                            Self.entry.replacingOccurrences(of: "client1", with: name), name])
        }
        let script = try lab.writeScript("lm100.lua", """
            local r = sm_restore("/srv/nfs/fs0/.flm", { sm_dir = "/var/lib/nfs/sm" })
            print(#r.copied)
            sm_notify{ as = "nfspkg", state_dir = "/var/lib/nfs", retry_minutes = 1 }
            """)
        let run = try lab.hanfs(["run", script])
        #expect(run.stdout == "101\n", "\(run.stderr)")
        var count = 0
        for _ in 0..<100 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            count = text.components(separatedBy: "Received SM_NOTIFY from nfspkg").count - 1
            if count >= 101 { break }
            usleep(100_000)
        }
        // client1 and the 100 others.
        #expect(count == 101)
    }

    /// Two packages on one node: the first's lock migration (statd, its
    /// sync, its retrying notifications, its client) is never disturbed by
    /// the second. A second package with lock migration is refused while
    /// the first is up; one without it starts and stops beside it.
    @Test func aSecondPackageNeverDisturbsTheFirstsLockMigration() throws {
        let lab = try Lab(fileSystems: ["ext4", "ext4"])
        try lab.prepareNodeStatusMonitor()
        let log = try lab.startClientStatd(name: "client1")
        // A gone client keeps the first package's sm-notify retrying.
        let hosts = try FileHandle(forWritingTo: URL(fileURLWithPath: lab.hostsFile))
        hosts.seekToEndOfFile()
        hosts.write("192.0.2.200 ghost\n".data(using: .utf8)!)
        try hosts.close()
        // client1 mounts from both packages: each has it in its holding directory.
        for (i, clients) in [["client1", "ghost"], ["client1", "stranger"]].enumerated() {
            try lab.inNode(["mkdir", "-p", "/mnt/prep\(i)"])
            try lab.inNode(["mount", lab.devices[i], "/mnt/prep\(i)"])
            try lab.inNode(["mkdir", "/mnt/prep\(i)/.flm"])
            for client in clients {
                try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /mnt/prep\(i)/.flm/$2", "sh",
                                Self.entry.replacingOccurrences(of: "client1", with: client), client])
            }
            try lab.inNode(["umount", "/mnt/prep\(i)"])
        }
        func package(_ name: String, _ i: Int, lockMigration: Bool) throws -> String {
            let lm = lockMigration
                ? ", lock_migration = { enabled = true, holding_dir = \"/srv/nfs/fs\(i)/.flm\", sm_dir = \"/var/lib/nfs/sm\", notify_retry_minutes = 1 }" : ""
            let text = """
                package { name = "\(name)", dad_timeout = 0.3 \(lm) }
                filesystem { device = "\(lab.devices[i])", directory = "/srv/nfs/fs\(i)", type = "ext4" }
                export { directory = "/srv/nfs/fs\(i)", clients = "192.0.2.0/24", options = "rw", fsid = \(101 + i) }
                address { address = "192.0.2.1\(i)/24", interface = "\(lab.interface)" }
                """
            let path = "\(lab.dir)/\(name)\(lockMigration ? "" : "-nolm").lua"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let first = try package("pkga", 0, lockMigration: true)
        #expect(try lab.hanfs(["start", "--config", first]).status == 0)
        #expect(waitFor("Received SM_NOTIFY from nfspkg", in: log).contains("Received SM_NOTIFY from nfspkg"))
        let statd = lab.processInNode(named: "rpc.statd")
        let sync = lab.processesInNode(withCommandLine: "sm-notify -f -m 1 -v 192.0.2.10 -P /var/lib/nfs")
        #expect(statd != nil && sync.count == 1)
        let notifications = { (try? String(contentsOfFile: log, encoding: .utf8))?.components(separatedBy: "Received SM_NOTIFY").count ?? 0 }
        let heard = notifications()

        // The second package with lock migration: refused, and undone, with the first untouched.
        let second = try package("pkgb", 1, lockMigration: true)
        let refused = try lab.hanfs(["start", "--config", second])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("lock migration on this node belongs to package pkga, which is up here"), "\(refused.stderr)")
        #expect(try !lab.mountPoints().contains("/srv/nfs/fs1"))
        // Without lock migration it runs beside the first, stops and starts again, touching none of the first's.
        let plain = try package("pkgb", 1, lockMigration: false)
        for action in ["start", "stop", "start", "stop"] {
            #expect(try lab.hanfs([action, "--config", plain]).status == 0, "\(action)")
        }
        #expect(lab.processInNode(named: "rpc.statd") == statd)
        #expect(lab.processesInNode(withCommandLine: "sm-notify -f -m 1 -v 192.0.2.10 -P /var/lib/nfs") == sync)
        #expect(lab.processesInNode().contains { commandLine(of: $0)?.contains("flm --worker --sm-dir /var/lib/nfs/sm --holding /srv/nfs/fs0/.flm") == true })
        // client1 heard from nobody else; the second package's client was never restored here.
        #expect(notifications() == heard)
        #expect(try !lab.inNode(["ls", "/var/lib/nfs/sm"]).stdout.contains("stranger"))
        #expect(try !String(contentsOfFile: log, encoding: .utf8).contains("Received SM_NOTIFY from nfspkg2"))
        // Once the first has stopped, the second may take lock migration, and
        // notifies its clients as itself.
        #expect(try lab.hanfs(["stop", "--config", first]).status == 0)
        let now = try lab.hanfs(["start", "--config", second])
        #expect(now.status == 0, "\(now.stderr)")
        #expect(waitFor("Received SM_NOTIFY from nfspkg2", in: log).contains("Received SM_NOTIFY from nfspkg2"))
        #expect(try lab.hanfs(["stop", "--config", second]).status == 0)
    }

    @Test func anEntryWrittenJustBeforeACrashIsKept() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, _) = try lockMigrationPackage(lab)
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        // statd records a new client; 20 ms later the node dies (every process on it, at once).
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /var/lib/nfs/sm/.late.new && mv /var/lib/nfs/sm/.late.new /var/lib/nfs/sm/late", "sh", Self.entry])
        usleep(20_000)
        for pid in lab.processesInNode() { kill(pid, SIGKILL) }
        // What the next node will find on the package's storage.
        #expect(try lab.inNode(["cat", "/srv/nfs/fs0/.flm/late"]).stdout == Self.entry)
    }
}
