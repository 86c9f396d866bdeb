import Foundation
import Lab
import Primitives
import TestSupport

/// The end-to-end failover in the two-node lab, 10 times: the outage the
/// client saw (NFSv3 and NFSv4), and the stop and start durations; then, in
/// the same lab and run, the storage and address steps alone done by
/// Pacemaker's Filesystem and IPaddr2 agents, moved between the same nodes.
func labBenchmarks(hanfs: String) throws {
    guard isRoot else {
        print("\n## The lab failover: skipped (needs root)")
        return
    }
    let grace = 5
    let lab = TwoNodeLab(dir: "/tmp/hanfs-bench-lab", hanfs: hanfs, grace: grace)
    lab.down(log: { _ in })
    defer { lab.down(log: { _ in }) }
    try lab.up(manager: .none, log: { _ in })

    let rounds = 10
    var reports: [FailoverReport] = []
    for _ in 0..<rounds { reports.append(try lab.failover(log: { _ in })) }

    // Pacemaker's agents: the package stopped, then its file system and address moved by them.
    guard let node = lab.runningOn() else { throw LabError("the package runs nowhere") }
    try lab.hanfs(node, "stop")
    let disk = try String(contentsOfFile: lab.config, encoding: .utf8).split(separator: "\"").first { $0.hasPrefix("/dev/loop") }
        .map(String.init) ?? ""
    let agents = "/usr/lib/ocf/resource.d/heartbeat"
    let ocf = [
        "OCF_ROOT=/usr/lib/ocf", "OCF_RESKEY_device=\(disk)", "OCF_RESKEY_directory=/srv/nfs/share", "OCF_RESKEY_fstype=ext4",
        "OCF_RESKEY_ip=\(TwoNodeLab.address)", "OCF_RESKEY_cidr_netmask=24", "OCF_RESKEY_nic=lab0",
    ]
    func agentsRun(_ node: String, _ first: String, _ second: String, _ action: String) throws -> Double {
        let r = try lab.on(node, ["env"] + ocf + ["sh", "-c", "\"$1\" \"$3\" && \"$2\" \"$3\"", "agents", first, second, action],
                           check: false)
        guard r.succeeded else { throw LabError("agents \(action) on \(node): \(r.stderrTail())") }
        return r.duration
    }
    var agentStops: [Double] = [], agentStarts: [Double] = []
    var on = "node1"
    _ = try agentsRun(on, "\(agents)/Filesystem", "\(agents)/IPaddr2", "start")
    for _ in 0..<rounds {
        let other = on == "node1" ? "node2" : "node1"
        agentStops.append(try agentsRun(on, "\(agents)/IPaddr2", "\(agents)/Filesystem", "stop"))
        agentStarts.append(try agentsRun(other, "\(agents)/Filesystem", "\(agents)/IPaddr2", "start"))
        on = other
    }
    _ = try agentsRun(on, "\(agents)/IPaddr2", "\(agents)/Filesystem", "stop")

    func row(_ what: String, _ xs: [Double]) -> String {
        String(format: "| %@ | %.0f | %.0f |", what, median(xs) * 1000, (xs.max() ?? 0) * 1000)
    }
    print("")
    print("## The lab failover (hanfs lab), \(rounds) failovers, NFS-Ganesha grace period \(grace) s")
    print("")
    print("| what | median ms | max ms |")
    print("|---|---|---|")
    print(row("hanfs stop (sync, notifier, address, NFS-Ganesha, umount, VG)", reports.compactMap { $0.duration("stop on \($0.from)") }))
    print(row("hanfs start (VG, mount, NFS-Ganesha, address, lock migration)", reports.compactMap { $0.duration("start on \($0.to)") }))
    print(row("client outage, NFSv3 reads (last good read before to first after)", reports.map { $0.outage[3] ?? 0 }))
    print(row("client outage, NFSv4 reads (includes the grace period)", reports.map { $0.outage[4] ?? 0 }))
    print(row("Pacemaker IPaddr2 + Filesystem stop (address, umount only)", agentStops))
    print(row("Pacemaker Filesystem + IPaddr2 start (mount, address only)", agentStarts))
    let handles = reports.allSatisfy { $0.handles.contains("v3 read") && $0.handles.contains("v4 size") }
    let notified = reports.filter { $0.notified != nil }.count
    let reclaimed = reports.filter { $0.lock.hasSuffix("granted") }.count
    print("")
    print("File handles from before the failover worked after it: \(handles ? "every time" : "NOT every time"); "
        + "the client's statd got SM_NOTIFY \(notified) of \(rounds) times; the NLM lock was reclaimed \(reclaimed) of \(rounds) times.")
}
