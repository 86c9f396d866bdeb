import Foundation
import Lab
import Primitives
import TestSupport

/// The kernel NFS lab (a VM running Debian's kernel under TCG): failovers
/// of the kernel-NFS package with grace and lease at 90/90 and at the
/// kernel's minimum 10/10 (lockd's grace the same), each round three
/// failovers side by side: the package as it is; the same with
/// `reconnect_clients = false` (the clients find the new node at their
/// next TCP retransmission); and with the clients prompted again, but a
/// second NFSv4.2 client on the server's record dead (the grace period then
/// runs its whole length: what a stack that never ends it early always
/// gets). The outages are the client's own, on its kernel mounts. TCG is
/// slow, so hanfs's steps are also compared with the same commands run alone
/// in the same VM (ratios).
///
/// The host side boots the lab (`hanfs lab up --kernel --manager none`) and
/// runs this program in the VM (`hanfs-bench kernel-lab-guest GRACE`), where
/// the lab is.
func kernelLabBenchmarks(hanfs: String, bench: String, rounds: Int) throws {
    guard isRoot, FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") else {
        print("\n## The kernel NFS lab: skipped (needs root and qemu)")
        return
    }
    let dir = "/tmp/hanfs-bench-kernel-lab"
    // HANFS_BENCH_GRACES: which grace periods (default 90 and 10, comma separated).
    let graces = (ProcessInfo.processInfo.environment["HANFS_BENCH_GRACES"] ?? "90,10").split(separator: ",").compactMap { Int($0) }
    for grace in graces {
        let lab = TwoNodeLab(dir: dir, hanfs: hanfs)
        lab.down(log: { _ in })
        defer { lab.down(log: { _ in }) }
        let vm = VMLab(dir: dir, hanfs: hanfs)
        try vm.up(manager: .none, grace: grace, log: { _ in })
        let r = try vm.run([bench, "kernel-lab-guest", String(grace), String(rounds)], timeout: 4 * 3600)
        if !r.succeeded { print("\n(hanfs-bench in the VM \(r.summary): \(r.stderrTail(lines: 1)))") }
        // Its own output from its first section on (not the header, which is ours).
        let text = r.stdoutText
        print(text.range(of: "\n## ").map { String(text[$0.lowerBound...]) } ?? text, terminator: "")
    }
}

/// In the VM: the package's commands alone (timed by step), then the failovers, each beside its twin with a dead client.
func kernelLabGuest(hanfs: String, grace: Int, rounds: Int) throws {
    let lab = TwoNodeLab(hanfs: hanfs)
    // First the commands alone (a failure shows at once, not after the failovers).
    guard let node = lab.runningOn() else { throw LabError("the package runs nowhere") }
    try lab.hanfs(node, "stop")
    let script = "\(lab.dir)/raw-steps.lua"
    try RawSteps.script(node: node, grace: grace).write(toFile: script, atomically: true, encoding: .utf8)
    var raw: [String: [Double]] = [:]
    for _ in 0..<5 {
        for line in try lab.on(node, [hanfs, "run", script], timeout: 300).stdoutText.split(separator: "\n") {
            let f = line.split(separator: "\t")
            if f.count == 2, let seconds = Double(f[1]) { raw[String(f[0]), default: []].append(seconds) }
        }
    }
    try lab.hanfs(node, "start")
    var early: [FailoverReport] = [], unprompted: [FailoverReport] = [], runOut: [FailoverReport] = []
    // The package file, with and without `reconnect_clients = false` (read at each start and stop).
    let package = try String(contentsOfFile: lab.config, encoding: .utf8)
    let withoutPrompt = package.replacingOccurrences(of: "dad_timeout = 0.2,", with: "dad_timeout = 0.2, reconnect_clients = false,")
    guard withoutPrompt != package else { throw LabError("the lab's package file has no dad_timeout = 0.2 to set reconnect_clients beside") }
    // Alternating, so that the VM's noise falls on all alike.
    // A failover that fails ends the rounds: what was measured is printed, and why.
    var failure: String?
    do {
        for _ in 0..<rounds {
            early.append(try lab.failover(log: { _ in }))
            try withoutPrompt.write(toFile: lab.config, atomically: true, encoding: .utf8)
            defer { try? package.write(toFile: lab.config, atomically: true, encoding: .utf8) }
            unprompted.append(try lab.failover(log: { _ in }))
            try package.write(toFile: lab.config, atomically: true, encoding: .utf8)
            runOut.append(try lab.failover(deadClient: true, log: { _ in }))
        }
    } catch {
        failure = "\(error)"
    }
    func outages(_ rs: [FailoverReport], _ version: String, write: Bool = false) -> [Double] {
        rs.compactMap { $0.mounts.first { $0.version == version }.map { write ? $0.writeOutage : $0.outage } }
    }
    func newLocks(_ rs: [FailoverReport], _ version: String) -> [Double] {
        rs.compactMap { $0.mounts.first { $0.version == version }?.newLock }
    }
    func ms(_ xs: [Double]) -> String { xs.isEmpty ? "- | -" : String(format: "%.0f | %.0f", median(xs) * 1000, (xs.max() ?? 0) * 1000) }
    func row(_ what: String, _ a: [Double], _ b: [Double]) -> String {
        "| \(what) | \(ms(a)) | \(ms(b)) | " + (a.isEmpty || b.isEmpty ? "-" : String(format: "%.2f", median(b) / max(median(a), 0.001))) + " |"
    }
    print("")
    print("## The kernel NFS lab (VM, TCG): \(early.count) + \(unprompted.count) + \(runOut.count) planned failovers, "
        + "grace and lease \(grace)/\(grace) s (lockd's grace the same), one run")
    if let failure {
        print("\nFailover \(early.count + unprompted.count + runOut.count + 1) of \(3 * rounds) failed, which ended the rounds: \(failure)")
    }
    print("")
    print("Side by side: each client on record reclaims (the kernel ends the grace period early) | a second NFSv4.2 client "
        + "on record has died (the grace period runs its whole length).")
    print("")
    // The client's outages in `a`, each beside the same in `b`.
    func outageRows(_ a: [FailoverReport], _ b: [FailoverReport], _ aName: String, _ bName: String) {
        print("| client's outage (kernel mounts, its own timestamps) | \(aName): median ms | max ms | \(bName): median ms | max ms | ratio |")
        print("|---|---|---|---|---|---|")
        for (version, what) in [("3", "NFSv3"), ("4.2", "NFSv4.2")] {
            let reads = version == "3" ? "between two good reads (O_DIRECT)" : "between two good reads (open, O_DIRECT)"
            print(row("\(what): \(reads)", outages(a, version), outages(b, version)))
            print(row("\(what): wait for a write's acknowledgement (fsync)", outages(a, version, write: true), outages(b, version, write: true)))
        }
    }
    outageRows(early, runOut, "early", "run out")
    print(row("stop then start: asked to running on the other node", early.map(\.serving), runOut.map(\.serving)))
    print(row("NFSv3: a new lock, from nfsd's start", newLocks(early, "3"), newLocks(runOut, "3")))
    print(row("NFSv4.2: a new lock, from nfsd's start", newLocks(early, "4.2"), newLocks(runOut, "4.2")))
    print("")
    print("Side by side: the clients' connections prompted to reconnect as the address is up (a tickle ACK) | "
        + "`reconnect_clients = false` (each client finds the new node at its next TCP retransmission).")
    print("")
    outageRows(early, unprompted, "prompted", "not prompted")
    let prompted = early.compactMap(\.prompted)
    print("")
    print("Prompted: \(prompted.map(\.connections).reduce(0, +)) connection(s) in \(early.count) failovers, "
        + "\(prompted.map(\.reconnected).reduce(0, +)) reconnected within the start's 1.2 s.")
    let graces = (early + unprompted + runOut).compactMap(\.kernelGrace)
    print("")
    print("The kernel's grace period: \(graces.filter { $0.hasPrefix("ended early") }.count) of \(graces.count) ended early, "
        + "\(graces.filter { $0.hasPrefix("ran out") }.count) ran out. Every failover: no read or write failed, every acknowledged "
        + "record on the disk, each lock reclaimed (the lab checks them all and fails otherwise).")

    // hanfs's steps beside the same commands alone, in the same VM: each
    // step's time from the start's and stop's records in the failovers
    // above, and the commands it runs, run alone from the same runner
    // (`hanfs run` of a script that only runs them, in the node).
    var steps: [String: [Double]] = [:]
    for r in early + unprompted {
        for (e, seconds) in r.shownEvents where e.who == "start on \(r.to)" || e.who == "stop on \(r.from)" {
            if let seconds { steps[e.what, default: []].append(seconds) }
        }
    }
    print("")
    print("hanfs's steps (their records, in the \(early.count + unprompted.count) failovers above without a dead client) beside the same commands alone (5 runs of a script "
        + "that only runs them, `hanfs run` in \(node)), in the same VM:")
    print("")
    print("| step | commands alone: median ms | max ms | hanfs's step: median ms | max ms | ratio |")
    print("|---|---|---|---|---|---|")
    for (title, group) in RawSteps.steps {
        guard let mine = steps[title], let alone = raw[group] else { continue }
        print(row("\(title) (\(RawSteps.commands[group] ?? ""))", alone, mine))
    }
}

/// The commands of the kernel lab package's steps, alone: a script for
/// `hanfs run` that runs each group and prints its name and the commands' time.
enum RawSteps {
    /// hanfs's step title, and the group of commands that does its work.
    static let steps: [(String, String)] = [
        ("activate volume group vglab", "vg-on"), ("check and mount 1 file system(s)", "mount"),
        ("start the kernel NFS server as nfspkg", "nfsd-on"), ("export /srv/nfs/share to 192.0.2.0/24", "export"),
        ("add address 192.0.2.10", "ip-on"), ("remove address 192.0.2.10", "ip-off"),
        ("unexport /srv/nfs/share from 192.0.2.0/24", "unexport"), ("stop the kernel NFS server", "nfsd-off"),
        ("unmount 1 file system(s)", "umount"), ("deactivate volume group vglab", "vg-off"),
    ]
    static let commands = [
        "vg-on": "vgchange --addtag, vgchange -ay", "mount": "mount", "nfsd-on": "nfsdcld, rpc.nfsd", "export": "exportfs",
        "ip-on": "ip addr add", "ip-off": "ip addr del", "unexport": "exportfs -u", "nfsd-off": "rpc.nfsd 0, nfsdcld ended",
        "umount": "umount", "vg-off": "vgchange -an, vgchange --deltag",
    ]

    static func script(node: String, grace: Int) -> String {
        """
        -- The kernel lab package's commands alone, by step (hanfs-bench kernel-lab).
        -- `gone`: then wait until no process has that in its command line.
        local function group(name, list, gone)
          local total = 0
          for _, argv in ipairs(list) do
            argv.timeout = 60
            total = total + run(argv).duration
          end
          while gone do
            local r = run{ "pgrep", "-f", gone, check = false, timeout = 10 }
            total = total + r.duration
            if not r.ok then break end
          end
          print(name .. "\t" .. total)
        end
        group("vg-on", { { "vgchange", "--addtag", "\(node)", "vglab" },
                         { "vgchange", "--config", 'activation { volume_list = [ "@\(node)" ] }', "-a", "y", "vglab" } })
        group("mount", { { "mount", "-t", "ext4", "/dev/vglab/share", "/srv/nfs/share" } })
        group("nfsd-on", { { "nfsdcld", "-p", "/var/lib/nfs/rpc_pipefs", "-s", "/srv/nfs/share/.nfsdcld" },
                           { "rpc.nfsd", "--grace-time", "\(grace)", "--lease-time", "\(grace)", "8" } })
        group("export", { { "exportfs", "-o", "rw,no_root_squash,no_subtree_check,insecure,fsid=101", "192.0.2.0/24:/srv/nfs/share" } })
        group("ip-on", { { "ip", "addr", "add", "192.0.2.10/24", "dev", "lab0" } })
        group("ip-off", { { "ip", "addr", "del", "192.0.2.10/24", "dev", "lab0" } })
        group("unexport", { { "exportfs", "-u", "192.0.2.0/24:/srv/nfs/share" } })
        -- (nfsdcld lets go of its database as it ends.)
        group("nfsd-off", { { "rpc.nfsd", "0" }, { "pkill", "-f", "/srv/nfs/share/.nfsdcld" } }, "/srv/nfs/share/.nfsdcld")
        group("umount", { { "umount", "/srv/nfs/share" } })
        group("vg-off", { { "vgchange", "-a", "n", "vglab" }, { "vgchange", "--deltag", "\(node)", "vglab" } })

        """
    }
}
