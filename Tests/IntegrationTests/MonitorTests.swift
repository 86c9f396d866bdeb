import Foundation
import TestSupport
import Testing

/// The monitor's RPC check (issue #5, started): NULL calls made by hanfs
/// itself, against the real rpcbind and rpc.statd in the lab's node.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct RPCCheck {
    @Test func answersAndSilences() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.prepareNodeStatusMonitor(statd: true)
        let script = try lab.writeScript("ping.lua", """
            for _, c in ipairs{ {100000, 2}, {100024, 1}, {100003, 3} } do
              for _, t in ipairs{ "udp", "tcp" } do
                print(c[1], t, rpc_ping{ program = c[1], version = c[2], transport = t, timeout = 1 })
              end
            end
            """)
        let out = try lab.hanfs(["run", script])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            100000\tudp\ttrue
            100000\ttcp\ttrue
            100024\tudp\ttrue
            100024\ttcp\ttrue
            100003\tudp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (udp)
            100003\ttcp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (tcp)

            """)

        // rpcbind stopped (it still accepts, and never answers): the check ends at its timeout.
        let rpcbind = try #require(lab.processesInNode().first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "rpcbind\n"
        })
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
        let pending = Thread.detachedResult { try lab.hanfs(["monitor", "--config", config], timeout: 60) }
        // Running once its first cycle has logged.
        for _ in 0..<100 {
            if (try? String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8))?.contains("state: healthy") ?? false { break }
            usleep(50_000)
        }
        return pending
    }

    func running(_ config: String) throws -> Bool {
        try !processes(withCommandLine: "\(hanfsBinary) monitor --config \(config)").isEmpty
    }

    @Test func healthyRunsAFailureEndsItMaintenancePausesIt() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", monitor = { interval = 0.2, retries = 2, services = \"rpcbind,status\" }")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        try lab.prepareNodeStatusMonitor(statd: true)
        let statd = { lab.processesInNode().first { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) == "rpc.statd\n" } }

        // Healthy: it keeps running.
        let first = try monitoring(lab, config)
        usleep(1_500_000)
        #expect(try running(config))
        // statd dies: the monitor ends, naming it, within interval x (retries + 1) + 1 s.
        kill(try #require(statd()), SIGKILL)
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
        usleep(1_500_000)
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
