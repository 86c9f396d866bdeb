import Foundation
import Lab
import Primitives
import TestSupport

/// The lab under its Pacemaker cluster, side by side in one run: 10 planned
/// moves and 10 crashes (power loss, fencing, take-over) of the hanfs
/// package (ocf:hanfs:package: VG, mount, NFS-Ganesha, address, lock
/// migration), then, with the package stopped, 10 moves and 10 crashes of
/// what Pacemaker's own agents can do of it here: a group of
/// ocf:heartbeat:Filesystem and ocf:heartbeat:IPaddr2 on the same disk and
/// address (no LVM-activate: this kernel has no device-mapper; no NFS
/// server agent: it has no nfsd). Each is timed the same way: from the
/// request (or the power loss) until crm_mon shows it started on the
/// other node, polled every 100 ms.
func labBenchmarks(hanfs: String) throws {
    guard isRoot else {
        print("\n## The lab under Pacemaker: skipped (needs root)")
        return
    }
    let grace = 5
    let lab = TwoNodeLab(dir: "/tmp/hanfs-bench-lab", hanfs: hanfs, grace: grace)
    lab.down(log: { _ in })
    defer { lab.down(log: { _ in }) }
    try lab.up(manager: .pacemaker, log: { _ in })

    let rounds = 10
    var moves: [FailoverReport] = [], crashes: [FailoverReport] = []
    for _ in 0..<rounds { moves.append(try lab.failover(log: { _ in })) }
    for _ in 0..<rounds { crashes.append(try lab.crash(log: { _ in })) }

    // The package stopped; Pacemaker's agents on the same disk and address, as a group.
    guard let from = lab.runningOn() else { throw LabError("the package runs nowhere") }
    try lab.on(from, ["crm_resource", "--resource", TwoNodeLab.package, "--meta", "--set-parameter", "target-role",
                      "--parameter-value", "Stopped"])
    try lab.cluster.wait("the package to stop", from: from, in: lab.site, within: 60) { $0.runningOn.isEmpty }
    let disk = try String(contentsOfFile: lab.config, encoding: .utf8).split(separator: "\"").first { $0.hasPrefix("/dev/loop") }
        .map(String.init) ?? ""
    func nvpairs(_ id: String, _ pairs: [(String, String)]) -> String {
        "<instance_attributes id=\"\(id)-params\">" + pairs.map { "<nvpair id=\"\(id)-\($0.0)\" name=\"\($0.0)\" value=\"\($0.1)\"/>" }.joined()
            + "</instance_attributes>"
    }
    let group = """
        <group id="agents">\
        <primitive id="agents-fs" class="ocf" provider="heartbeat" type="Filesystem">\
        \(nvpairs("agents-fs", [("device", disk), ("directory", "/srv/nfs/share"), ("fstype", "ext4")]))\
        <operations><op id="agents-fs-monitor" name="monitor" interval="20s" timeout="40s"/></operations></primitive>\
        <primitive id="agents-ip" class="ocf" provider="heartbeat" type="IPaddr2">\
        \(nvpairs("agents-ip", [("ip", TwoNodeLab.address), ("cidr_netmask", "24"), ("nic", "lab0")]))\
        <operations><op id="agents-ip-monitor" name="monitor" interval="10s" timeout="20s"/></operations></primitive>\
        </group>
        """
    try lab.on(from, ["cibadmin", "--create", "--scope", "resources", "--xml-text", group])
    let agents = lab.cluster.watching("agents-ip")
    func runs(_ node: String) -> (PacemakerCluster.State) -> Bool { { $0.runningOn == [node] && $0.role == "Started" && !$0.failed } }
    var on = try agents.wait("the agents to start", from: from, in: lab.site, within: 60) { $0.runningOn.count == 1 }.runningOn[0]
    var agentMoves: [Double] = [], agentCrashes: [Double] = []
    for _ in 0..<rounds {
        let to = on == "node1" ? "node2" : "node1"
        let t0 = Monotonic.now()
        try lab.on(on, ["crm_resource", "--move", "--resource", "agents", "--node", to])
        try agents.wait("the agents to move to \(to)", from: to, in: lab.site, within: 60, until: runs(to))
        agentMoves.append(Monotonic.now() - t0)
        try lab.on(to, ["crm_resource", "--clear", "--resource", "agents"])
        on = to
    }
    for _ in 0..<rounds {
        let to = on == "node1" ? "node2" : "node1"
        let fenced = lab.fencings(of: on)
        let t0 = Monotonic.now()
        try lab.powerOff(on)
        try agents.wait("the agents to run on \(to)", from: to, in: lab.site, within: 120, until: runs(to))
        agentCrashes.append(Monotonic.now() - t0)
        try lab.awaitFencing(of: on, after: fenced)
        try lab.powerOn(on)
        try agents.wait("\(on) to rejoin", from: to, in: lab.site, within: 60) { $0.online.count == 2 && $0.unclean.isEmpty }
        on = to
    }

    func ms(_ xs: [Double]) -> String { String(format: "%.0f | %.0f", median(xs) * 1000, (xs.max() ?? 0) * 1000) }
    func row(_ what: String, _ hanfs: [Double], _ agents: [Double]) -> String {
        "| \(what) | \(ms(hanfs)) | \(ms(agents)) | " + String(format: "%.2f", median(hanfs) / median(agents)) + " |"
    }
    func both(_ what: String, _ xs: [Double]) -> String { "| \(what) | \(ms(xs)) | | | |" }
    print("")
    print("## The lab under Pacemaker: \(rounds) moves and \(rounds) crashes, hanfs's package and Pacemaker's agents, one run")
    print("")
    print("| what | hanfs median ms | hanfs max ms | agents median ms | agents max ms | ratio of medians |")
    print("|---|---|---|---|---|---|")
    print(row("planned move: request to started on the other node", moves.map(\.serving), agentMoves))
    print(row("crash: power loss to started on the survivor (fenced)", crashes.map(\.serving), agentCrashes))
    print(both("hanfs start on the survivor after a crash (its records)", crashes.compactMap { $0.duration("start on \($0.to)") }))
    print(both("hanfs stop in a planned move (its records)", moves.compactMap { $0.duration("stop on \($0.from)") }))
    print(both("client outage after a move, NFSv3 reads", moves.map { $0.outage[3] ?? 0 }))
    print(both("client outage after a crash, NFSv3 reads", crashes.map { $0.outage[3] ?? 0 }))
    print(both("client outage after a crash, NFSv4 reads (grace period \(grace) s)", crashes.map { $0.outage[4] ?? 0 }))
    print(both("the dead node: boot to member again", crashes.compactMap(\.rejoined)))
    func each(_ xs: [Double]) -> String { xs.map { String(format: "%.2f", $0) }.joined(separator: " ") }
    print("")
    print("Each crash, power loss to started (s): hanfs \(each(crashes.map(\.serving))); agents \(each(agentCrashes)).")
    // Where each crash's time went: Pacemaker's milestones, as offsets from the power loss.
    for (i, c) in crashes.enumerated() {
        let milestones = c.events.filter { $0.who == "pacemaker" && !$0.what.hasSuffix("member") }
        print("Crash \(i + 1) (\(c.from) dies): " + milestones.map { String(format: "%.2f %@", $0.offset, $0.what) }.joined(separator: "; ")
            + String(format: "; running %.2f", c.serving))
    }
    let handles = (moves + crashes).allSatisfy { $0.handles.contains("v3 read") && $0.handles.contains("v4 size") }
    let notified = (moves + crashes).filter { $0.notified != nil }.count
    let reclaimed = (moves + crashes).filter { $0.lock.hasSuffix("granted") }.count
    let written = crashes.filter { $0.written?.contains("every one on the disk") ?? false }.count
    print("")
    print("hanfs's package: file handles from before worked after \(handles ? "every time" : "NOT every time"); "
        + "the client's statd got SM_NOTIFY \(notified) of \(2 * rounds) times; the NLM lock was reclaimed \(reclaimed) of "
        + "\(2 * rounds) times; every acknowledged write was on the disk after \(written) of \(rounds) crashes.")
}
