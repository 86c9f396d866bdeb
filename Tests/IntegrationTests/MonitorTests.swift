import Foundation
import TestSupport
import Testing

/// The monitor's RPC check: NULL calls made by hanfs itself, over IPv4 and
/// IPv6, against the real rpcbind and rpc.statd in the lab's node.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct RPCCheck {
    @Test func answersAndSilences() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.prepareNodeStatusMonitor(statd: true)
        let script = try lab.writeScript("ping.lua", """
            for _, c in ipairs{ {100000, 2}, {100024, 1}, {100003, 3} } do
              for _, t in ipairs{ "udp", "tcp", "udp6", "tcp6" } do
                print(c[1], t, rpc_ping{ program = c[1], version = c[2], transport = t, timeout = 1 })
              end
            end
            """)
        let out = try lab.hanfs(["run", script])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            100000\tudp\ttrue
            100000\ttcp\ttrue
            100000\tudp6\ttrue
            100000\ttcp6\ttrue
            100024\tudp\ttrue
            100024\ttcp\ttrue
            100024\tudp6\ttrue
            100024\ttcp6\ttrue
            100003\tudp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (udp)
            100003\ttcp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (tcp)
            100003\tudp6\tfalse\tnfs (100003) version 3 is not registered with rpcbind (udp6)
            100003\ttcp6\tfalse\tnfs (100003) version 3 is not registered with rpcbind (tcp6)

            """)

        // rpcbind stopped (it still accepts, and never answers): the check ends at its timeout.
        let rpcbind = try #require(lab.processInNode(named: "rpcbind"))
        kill(rpcbind, SIGSTOP)
        defer { kill(rpcbind, SIGCONT) }
        let timed = try lab.writeScript("timed.lua", """
            local t = os.clock()
            for _, tr in ipairs{ "udp", "tcp" } do
              local ok, why = rpc_ping{ program = 100024, version = 1, transport = tr, timeout = 0.5 }
              print(tr, ok, why)
            end
            """)
        let started = Date()
        let silent = try lab.hanfs(["run", timed])
        let took = Date().timeIntervalSince(started)
        #expect(silent.stdout.contains("udp\tfalse\trpcbind: no answer within the timeout"), "\(silent.stdout)")
        #expect(silent.stdout.contains("tcp\tfalse\trpcbind: no answer within the timeout"), "\(silent.stdout)")
        #expect(took < 1.0 + 0.5, "two checks of 0.5 s took \(took) s")
    }
}

/// `hanfs monitor` on a package, against the real rpcbind and rpc.statd:
/// it keeps running while all is well, ends with the reason when a check
/// fails for good, and not while the maintenance file is there.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct MonitorRuns {
    /// interval 0.2 s, 2 retries: a failure counts after 3 cycles.
    static let limit = 0.2 * 3 + 1

    func monitoring(_ lab: Lab, _ config: String) throws -> Pending<Output> {
        let before = lab.monitorCycles()
        let pending = Thread.detachedResult { try lab.hanfs(["monitor", "--config", config], timeout: 60) }
        // Running once its first cycle has logged.
        #expect(lab.waitForMonitorCycles(1, since: before), "the monitor logged no cycle")
        return pending
    }

    func running(_ config: String) throws -> Bool {
        try !processes(withCommandLine: "\(hanfsBinary) monitor --config \(config)").isEmpty
    }

    /// Starts the monitor, lets it run healthy for a while, does `fault`, and
    /// returns how it ended, checking it did so within the limit and named `reason`.
    func endsOn(_ lab: Lab, _ config: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation,
                fault: () throws -> Void) throws {
        let pending = try monitoring(lab, config)
        // More cycles than it takes a failure to count: a healthy package keeps its monitor.
        #expect(lab.waitForMonitorCycles(4, since: lab.monitorCycles()), sourceLocation: sourceLocation)
        #expect(try running(config), "a healthy package keeps its monitor", sourceLocation: sourceLocation)
        try fault()
        let t = Date()
        let ended = try pending.value()
        #expect(Date().timeIntervalSince(t) < Self.limit, "took \(Date().timeIntervalSince(t)) s", sourceLocation: sourceLocation)
        #expect(ended.status == 1, sourceLocation: sourceLocation)
        #expect(ended.stderr.contains("hanfs: monitor: " + reason), "\(ended.stderr)", sourceLocation: sourceLocation)
    }

    /// The NFS service itself (NFS-Ganesha), rpcbind, and an export, each gone.
    @Test func theNFSServerRpcbindAndExports() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", monitor = { interval = 0.2, retries = 2 }")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        try lab.prepareNodeStatusMonitor(statd: true)
        try lab.startGanesha(exports: ["/srv/nfs/fs0"])

        // By default, with exports: rpcbind, nfs, mountd and nlockmgr.
        try endsOn(lab, config, "nfs: nfs (100003)") {
            kill(try #require(lab.processInNode(named: "ganesha.nfsd")), SIGKILL)
        }
        let log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("checks: rpcbind ok; nfs ok; mountd ok; nlockmgr ok; mount /srv/nfs/fs0 ok; exports ok; address 192.0.2.10 ok"))
        #expect(log.contains("state: failed (nfs: nfs (100003)"))
        // Why it ended stays on the node, for `hanfs status`.
        #expect(try lab.hanfs(["status", "--config", config]).stdout.contains("down monitor: ended: nfs: nfs (100003)"))

        // A fresh NFS server (killed, the old one is still registered), then rpcbind dies.
        try lab.inNode(["rpcbind", "-w"], check: false)
        try lab.startGanesha(exports: ["/srv/nfs/fs0"])
        try endsOn(lab, config, "rpcbind: ") {
            kill(try #require(lab.processInNode(named: "rpcbind")), SIGKILL)
        }
        try lab.inNode(["rpcbind", "-w"])
        try lab.inNode(["sh", "-c", "kill $(cat /run/ganesha.pid)"])
        try lab.startGanesha(exports: ["/srv/nfs/fs0"])
        try endsOn(lab, config, "exports: 192.0.2.0/24:/srv/nfs/fs0 is not exported") {
            try lab.inNode(["exportfs", "-u", "192.0.2.0/24:/srv/nfs/fs0"])
        }
    }

    /// With lock migration: the sync dies; rpc.statd restarted (the clients
    /// are told again, and the monitor goes on); rpc.statd gone.
    @Test func theSyncAndStatd() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let (config, statdLog) = try CrashNotificationReachesClients().lockMigrationPackage(
            lab, monitor: ", monitor = { interval = 0.2, retries = 2, services = \"rpcbind,status\" }")
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        let notified = { try lab.inNode(["cat", "/run/hanfs/labpkg.notified"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(try lab.processInNode(named: "rpc.statd").map(String.init) == notified())

        try endsOn(lab, config, "sync: the sync into /srv/nfs/fs0/.flm is not running") {
            // The supervisor first, then its worker.
            for pid in lab.processesInNode().filter({ (commandLine(of: $0) ?? "").hasPrefix("\(hanfsBinary) flm ") }) {
                kill(pid, SIGKILL)
            }
        }
        #expect(try lab.hanfs(["lock-migration", "--config", config]).status == 0)
        let sent = try notified()
        // statd has since been asked to monitor client1 again (its lock).
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /var/lib/nfs/sm/client1 && chown statd /var/lib/nfs/sm/client1",
                        "sh", CrashNotificationReachesClients.entry])

        // statd restarted behind the package's back: notified again, and still healthy.
        let pending = try monitoring(lab, config)
        let before = (try? String(contentsOfFile: statdLog, encoding: .utf8)) ?? ""
        let count = { (text: String) in text.components(separatedBy: "Received SM_NOTIFY from nfspkg").count - 1 }
        kill(try #require(lab.processInNode(named: "rpc.statd")), SIGKILL)
        try lab.inNode(["rpc.statd", "--no-notify", "-n", "nfspkg", "-P", "/var/lib/nfs"])
        var seen = before
        for _ in 0..<50 where count(seen) == count(before) {
            usleep(100_000)
            seen = (try? String(contentsOfFile: statdLog, encoding: .utf8)) ?? ""
        }
        #expect(count(seen) == count(before) + 1, "client statd: \(seen)")
        #expect(lab.waitForMonitorCycles(4, since: lab.monitorCycles()))
        #expect(try running(config))
        let log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("the clients were notified with pid \(sent): notifying them again"))
        #expect(try notified() == lab.processInNode(named: "rpc.statd").map(String.init))

        // statd gone for good.
        kill(try #require(lab.processInNode(named: "rpc.statd")), SIGKILL)
        let t = Date()
        let ended = try pending.value()
        #expect(Date().timeIntervalSince(t) < Self.limit)
        #expect(ended.stderr.contains("hanfs: monitor: status: status (100024)"), "\(ended.stderr)")
        #expect(ended.stderr.contains("statd: rpc.statd is not running"), "\(ended.stderr)")
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
    }

    /// monitor.run: start runs the monitor (last), stop stops it (first);
    /// monitor.probe: each file system answers a direct read and a write.
    @Test func startRunsItStopStopsIt() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(
            lab, extra: ", monitor = { interval = 0.2, retries = 2, services = \"rpcbind\", run = true, probe = true }")
        try lab.prepareNodeStatusMonitor()
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stderr.contains("start the monitor"))
        #expect(try running(config))
        #expect(eventually { (try? lab.inNode(["cat", "/srv/nfs/fs0/.hanfs-monitor"], check: false))?.stdout.hasPrefix("hanfs monitor, pid ") == true ? true : nil } == true)
        #expect(try lab.hanfs(["status", "--config", config]).stdout.contains("up   monitor: running"))
        let again = try lab.hanfs(["start", "--config", config])
        #expect(again.status == 0)
        #expect(try processes(withCommandLine: "\(hanfsBinary) monitor --config \(config)").count == 1)

        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("stopped the monitor of labpkg"))
        #expect(try !running(config))
        // The monitor did not see the stop as a failure.
        #expect(try lab.inNode(["ls", "/run/hanfs"]).stdout.contains("monitor-failed") == false)
        try StartStop.expectClean(lab)
    }

    @Test func healthyRunsAFailureEndsItMaintenancePausesIt() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", monitor = { interval = 0.2, retries = 2, services = \"rpcbind,status\" }")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        try lab.prepareNodeStatusMonitor(statd: true)

        // Healthy: it keeps running.
        let first = try monitoring(lab, config)
        #expect(lab.waitForMonitorCycles(6, since: lab.monitorCycles()))
        #expect(try running(config))
        // statd dies: the monitor ends, naming it, within interval x (retries + 1) + 1 s.
        kill(try #require(lab.processInNode(named: "rpc.statd")), SIGKILL)
        var t = Date()
        let ended = try first.value()
        #expect(Date().timeIntervalSince(t) < Self.limit)
        #expect(ended.status == 1)
        // (Killed, it is still registered: its port refuses.)
        #expect(ended.stderr.contains("hanfs: monitor: status: status (100024): Connection refused"), "\(ended.stderr)")

        // In maintenance, an unmounted file system does not end it; when maintenance is over, it does.
        try lab.inNode(["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
        try lab.inNode(["touch", "/run/hanfs/labpkg.maintenance"])
        let second = try monitoring(lab, config)
        try lab.inNode(["umount", "/srv/nfs/fs0"])
        #expect(lab.waitForMonitorCycles(6, since: lab.monitorCycles()))
        #expect(try running(config))
        try lab.inNode(["rm", "/run/hanfs/labpkg.maintenance"])
        t = Date()
        let afterMaintenance = try second.value()
        #expect(Date().timeIntervalSince(t) < Self.limit)
        #expect(afterMaintenance.stderr.contains("hanfs: monitor: mount /srv/nfs/fs0: /srv/nfs/fs0 is not mounted"), "\(afterMaintenance.stderr)")

        // The package address gone.
        try lab.inNode(["mount", "-t", "ext4", lab.devices[0], "/srv/nfs/fs0"])
        let third = try monitoring(lab, config)
        try lab.sh(["ip", "-n", lab.nodeNS, "addr", "del", "192.0.2.10/24", "dev", lab.interface])
        t = Date()
        let noAddress = try third.value()
        #expect(Date().timeIntervalSince(t) < Self.limit)
        #expect(noAddress.stderr.contains("hanfs: monitor: address 192.0.2.10: 192.0.2.10 is not on \(lab.interface)"), "\(noAddress.stderr)")
        let log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("maintenance: /run/hanfs/labpkg.maintenance is there"))
        #expect(log.contains("state: degraded"))
    }
}
