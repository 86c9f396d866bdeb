import Foundation
import Lab
import Primitives
import TestSupport
import Testing

/// The end-to-end failover, as the README's main command runs it: `hanfs lab
/// up`, `failover`, `crash`, `down`, with a real client in its own namespaces;
/// under a real Pacemaker cluster (the default), and with the lab deciding.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, loop devices, daemons"))
struct LabFailover {
    /// `hanfs lab` in a directory of its own, and the lab it made.
    struct Run {
        let dir: String
        let lab: TwoNodeLab
        init(_ name: String) {
            dir = "/tmp/hanfs-e2e-\(name)-\(getpid())"
            lab = TwoNodeLab(dir: dir, hanfs: hanfsBinary)
        }
        func callAsFunction(_ arguments: [String]) throws -> Output {
            try output([hanfsBinary, "lab"] + arguments, environment: ["HANFS_LAB_DIR": dir], timeout: 240)
        }
        func expect(_ out: Output, _ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(out.status == 0, "\(out.stdout)\(out.stderr)", sourceLocation: sourceLocation)
            for line in lines { #expect(out.stdout.contains(line), "\(line) in:\n\(out.stdout)", sourceLocation: sourceLocation) }
        }

        /// The client writes a file through the package address; returns what it wrote.
        func writeThroughThePackage() throws -> String {
            let content = (0..<200).map { "line \($0) written by client1 before the failover\n" }.joined()
            try content.write(toFile: "\(dir)/written.txt", atomically: true, encoding: .utf8)
            // In the grace period after a start NFS-Ganesha answers a create with "try again later"
            // (NFS3ERR_JUKEBOX), which a kernel client retries and libnfs's nfs-cp does not: wait it out.
            var open4 = try lab.on("client", ["nfs-cat", "\(lab.exportURL)/hello.txt?version=4"], check: false)
            for _ in 0..<80 where !open4.succeeded {
                usleep(250_000)
                open4 = try lab.on("client", ["nfs-cat", "\(lab.exportURL)/hello.txt?version=4"], check: false)
            }
            try lab.on("client", ["nfs-cp", "\(dir)/written.txt", "\(lab.exportURL)/written.txt"])
            return content
        }

        func read(_ file: String, version: Int = 3) throws -> String {
            try lab.on("client", ["nfs-cat", "\(lab.exportURL)/\(file)" + (version == 4 ? "?version=4" : "")], check: false).stdoutText
        }

        /// `down` removes it all.
        func down() throws {
            #expect(try self(["down"]).status == 0)
            #expect(try !output(["ip", "netns", "list"]).stdout.contains(lab.netns("node1")))
            #expect(try !output(["cat", "/proc/self/mountinfo"]).stdout.contains(dir))
            #expect(!FileManager.default.fileExists(atPath: dir))
        }
    }

    /// The lab's cluster: Pacemaker moves the package when asked; when the
    /// node that runs it loses its power, the survivor fences it and takes
    /// the package over, the client keeping its data, handles and lock; the
    /// dead node rejoins without running it; the idle node's crash changes
    /// nothing; and a node that comes back before it was fenced is fenced
    /// all the same, the package never running on both.
    @Test func underPacemakerTheClusterMovesFencesAndTakesOver() throws {
        let run = Run("pcmk"), lab = run.lab
        defer { _ = try? run(["down"]) }
        run.expect(try run(["up"]), ["cluster: corosync and pacemaker on node1 and node2, both online",
                                     "package nfspkg started on node1 by Pacemaker (ocf:hanfs:package)"])
        let mon = try run(["exec", "node2", "--", "crm_mon", "-1"]).stdout
        for line in ["fence-node1\t(stonith:fence_hanfs_lab):\t Started node2", "fence-node2\t(stonith:fence_hanfs_lab):\t Started node1",
                     "nfspkg\t(ocf:hanfs:package):\t Started node1", "Online: [ node1 node2 ]"] {
            #expect(mon.contains(line), "\(line) in:\n\(mon)")
        }
        #expect(try run(["exec", "node2", "hostname"]).stdout == "node2\n")
        let content = try run.writeThroughThePackage()

        run.expect(try run(["failover"]), [
            "failover of nfspkg: node1 -> node2 (asked of Pacemaker: crm_resource --move)",
            "pacemaker      stop of the package initiated on node1", "stop on node1  deactivate volume group vglab",
            "pacemaker      start of the package on node2: ok", "start on node2 start NFS-Ganesha with 1 export(s)",
            "client, NFSv3: outage", "client, NFSv4: outage", "(none stale)", "reclaim after: granted",
            "client1's rpc.statd: SM_NOTIFY from nfspkg at +",
        ])
        #expect(try run.read("written.txt") == content)
        #expect(try run.read("written.txt", version: 4) == content)
        #expect(lab.runningOn() == "node2")
        // node2's NFS-Ganesha found the NFSv4 clients node1 had recorded on the shared
        // storage, and waits for them to reclaim: the recovery directory moved with the package.
        let ganeshaLog = try String(contentsOfFile: "\(lab.logDirectory("node2"))/hanfs/nfspkg.ganesha.log", encoding: .utf8)
        let counts = ganeshaLog.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: "clid count(") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect((counts.first ?? 0) > 0, "NFS-Ganesha on node2 found no NFSv4 client records")
        // The move's constraint is cleared: the package stays for its stickiness, not for a constraint.
        #expect(try !run(["exec", "node1", "--", "crm_resource", "--constraints", "--resource", "nfspkg"]).stdout.contains("cli-prefer"))

        // node2 loses its power: node1 fences it and takes the package over (its VG still
        // tagged by node2); node2 boots again and rejoins without running it.
        run.expect(try run(["crash"]), [
            "crash of node2, which ran nfspkg: power off (link down, every process killed); Pacemaker fences it",
            "pacemaker      corosync: node2 lost", "pacemaker      fencing (off) of node2 requested",
            "pacemaker      fence device fence-node2: off of node2 done", "start on node1 took volume group vglab over from node2",
            "pacemaker      start of the package on node1: ok", "rejoined the cluster in", "and does not run it",
            "(none stale)", "reclaim after: granted", "client1's rpc.statd: SM_NOTIFY from nfspkg at +",
            "records acknowledged with FILE_SYNC, every one on the disk after the crash",
        ])
        #expect(lab.fencings(of: "node2") == 1)
        #expect(lab.runningOn() == "node1")
        // The start probed for a duplicate of the address while the storage came up, not after.
        let log = try String(contentsOfFile: "\(lab.logDirectory("node1"))/hanfs/nfspkg.log", encoding: .utf8)
        #expect(log.contains("no host answered ARP for 192.0.2.10 on lab0 (probed ahead)"))
        // On the node that came back, a plain start is refused: the volume group is node1's.
        let plain = try lab.hanfs("node2", "start", check: false)
        #expect(!plain.succeeded)
        #expect(plain.stderrText.contains("volume group vglab is tagged by another node node1; refusing"), "\(plain.stderrText)")
        #expect(TwoNodeLab.nodes.filter { lab.isStarted(on: $0) } == ["node1"])
        #expect(try run.read("written.txt") == content)

        // The README's crmsh and pcs configurations, as written, each on an empty CIB in node1
        // (which sees the agents, as a node where hanfs is installed does): Pacemaker finds them valid.
        for tool in ["crmsh", "pcs"] {
            let cib = "\(run.dir)/\(tool).xml"
            try Data(lab.on("node1", ["cibadmin", "--empty"]).stdout).write(to: URL(fileURLWithPath: cib))
            for argv in try readmeCommands(tool) {
                let offline = argv[0] == "pcs" ? ["pcs", "-f", cib] + argv.dropFirst() : ["env", "CIB_file=\(cib)"] + argv
                let r = try lab.on("node1", offline, check: false)
                #expect(r.succeeded, "\(argv.joined(separator: " ")): \(r.stderrText)")
            }
            let verify = try lab.on("node1", ["crm_verify", "--xml-file", cib], check: false)
            #expect(verify.succeeded, "crm_verify of the README's \(tool) configuration: \(verify.stderrText)\(verify.stdoutText)")
            let resources = try lab.on("node1", ["env", "CIB_file=\(cib)", "cibadmin", "--query", "--scope", "resources"]).stdoutText
            for part in ["<primitive id=\"nfspkg\" class=\"ocf\"", "provider=\"hanfs\"", "type=\"package\"", "value=\"/etc/hanfs/nfspkg.lua\"",
                         "type=\"fence_hanfs_lab\"", "name=\"monitor\" interval=\"20s\""] {
                #expect(resources.contains(part), "\(part) in the README's \(tool) configuration:\n\(resources)")
            }
        }
        // Its moves, on the lab's cluster: to node2 and back.
        for argv in try readmeCommands("moves") {
            #expect(try lab.on("node1", argv, timeout: 120, check: false).succeeded, "\(argv.joined(separator: " "))")
            if let target = argv.last, argv.contains("move") {
                try lab.cluster.wait("nfspkg to move to \(target)", from: "node1", in: lab.site, within: 60) {
                    $0.runningOn == [target] && $0.role == "Started"
                }
            }
        }
        #expect(try !run(["exec", "node1", "--", "crm_resource", "--constraints", "--resource", "nfspkg"]).stdout.contains("cli-"))

        // The idle node crashes: it is fenced, boots again, rejoins; nothing moves.
        run.expect(try run(["crash", "node2"]), [
            "crash of node2, which ran nothing: powered off, fenced by node1 and booted again, rejoined the cluster in",
            "nfspkg stays on node1",
        ])
        #expect(lab.fencings(of: "node2") == 2)

        try run.down()
    }

    /// A node that comes back before it was fenced (its fencing delayed, as
    /// `pcmk_delay_base` does in two-node clusters) must not run the package
    /// twice: the survivor fences it all the same, then takes the package over.
    @Test func underPacemakerANodeThatComesBackBeforeItsFencingIsFencedAllTheSame() throws {
        let run = Run("early"), lab = run.lab
        defer { _ = try? run(["down"]) }
        run.expect(try run(["up"]), ["package nfspkg started on node1 by Pacemaker"])
        try lab.on("node2", ["crm_resource", "--resource", "fence-node1", "--set-parameter", "pcmk_delay_base", "--parameter-value", "4s"])
        let fenced = lab.fencings(of: "node1")
        try lab.powerOff("node1")
        // node2 has lost it; node1 boots at once, its fencing 4 s away.
        try lab.cluster.wait("node2 to lose node1", from: "node2", in: lab.site, within: 30) { !$0.online.contains("node1") }
        try lab.powerOn("node1")
        var both = false, onNode1 = false
        let until = Monotonic.now() + 90
        while Monotonic.now() < until {
            let on = TwoNodeLab.nodes.filter { lab.isStarted(on: $0) }
            both = both || on.count > 1
            onNode1 = onNode1 || on.contains("node1")
            if lab.fencings(of: "node1") > fenced && on == ["node2"] { break }
            usleep(50_000)
        }
        #expect(!both, "the package ran on both nodes")
        #expect(!onNode1, "node1 ran the package again before it was fenced")
        #expect(lab.fencings(of: "node1") == fenced + 1, "node1 came back and was not fenced")
        #expect(lab.runningOn() == "node2")
        // Powered on again after its fencing, it rejoins and the package stays on node2.
        try lab.powerOn("node1")
        try lab.cluster.wait("node1 to rejoin", from: "node2", in: lab.site, within: 60) {
            $0.online.count == 2 && $0.unclean.isEmpty && $0.runningOn == ["node2"]
        }
        #expect(TwoNodeLab.nodes.filter { lab.isStarted(on: $0) } == ["node2"])
        try run.down()
    }

    /// With no cluster manager (`--manager none`) the lab does what one
    /// would: a planned move is a stop and a start; after a power loss it
    /// starts the package with --takeover; a stop while a client reads does not hang.
    @Test func withNoClusterManagerTheLabStopsStartsAndTakesOver() throws {
        let run = Run("none"), lab = run.lab
        defer { _ = try? run(["down"]) }
        run.expect(try run(["up", "--manager", "none"]), ["package nfspkg started on node1 in"])
        #expect(try run(["status"]).stdout.contains("package nfspkg runs on node1"))
        let content = try run.writeThroughThePackage()

        run.expect(try run(["failover"]), [
            "failover of nfspkg: node1 -> node2 (stop, then start, by hanfs lab)", "start on node2 start NFS-Ganesha with 1 export(s)",
            "client, NFSv3: outage", "client, NFSv4: outage", "(none stale)", "reclaim after: granted",
            "client1's rpc.statd: SM_NOTIFY from nfspkg at +",
        ])
        #expect(try run.read("written.txt") == content)
        #expect(lab.runningOn() == "node2")

        // node2, which runs it, loses its power: node1 takes the package over (its VG still
        // tagged by node2), the client keeps its data, handles and lock, and node2 boots
        // again without running it.
        run.expect(try run(["crash"]), [
            "crash of node2, which ran nfspkg", "start on node1 took volume group vglab over from node2",
            "client, NFSv3: outage", "(none stale)", "reclaim after: granted",
            "client1's rpc.statd: SM_NOTIFY from nfspkg at +", "node2 booted again and does not run it",
            "records acknowledged with FILE_SYNC, every one on the disk after the crash",
        ])
        #expect(lab.runningOn() == "node1")
        #expect(try run.read("written.txt") == content)

        // A stop while the client reads a large file does not hang.
        try lab.on("node1", ["dd", "if=/dev/zero", "of=/srv/nfs/share/big", "bs=1M", "count=24", "status=none"])
        let reading = Thread.detachedResult {
            (0..<5).map { _ in (try? lab.on("client", ["nfs-cat", "\(lab.exportURL)/big"], timeout: 20, check: false))?.stdout.count ?? 0 }
        }
        usleep(300_000)
        let stop = try lab.hanfs("node1", "stop", check: false)
        #expect(stop.succeeded, "\(stop.stderrText)")
        #expect(stop.duration < 15, "stop took \(stop.duration) s")
        _ = try reading.value()
        #expect(lab.runningOn() == nil)
        try run.down()
    }

    /// `up` killed half-way leaves namespaces, loop devices, mounts and
    /// daemons behind; `down` removes them all, from their names alone.
    @Test func downAfterACrashHalfWay() throws {
        let dir = "/tmp/hanfs-e2e-crash-\(getpid())"
        let lab = TwoNodeLab(dir: dir, hanfs: hanfsBinary)
        defer { lab.down(log: { _ in }) }
        // Killed 0.7 s in: the network and the disks are there, the package is on its way.
        let up = try output(["timeout", "-s", "KILL", "0.7", hanfsBinary, "lab", "up"], environment: ["HANFS_LAB_DIR": dir])
        #expect(up.status == 128 + SIGKILL)
        #expect(try output(["ip", "netns", "list"]).stdout.contains(lab.netns("node1")), "the crash left the lab half-built")

        let down = try output([hanfsBinary, "lab", "down"], environment: ["HANFS_LAB_DIR": dir])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try !output(["ip", "netns", "list"]).stdout.contains(lab.netns("")))
        #expect(try output(["losetup", "-j", "\(dir)/disk.img"]).stdout.isEmpty)
        #expect(try output(["losetup", "-j", "\(dir)/pv.img"]).stdout.isEmpty)
        #expect(try !output(["cat", "/proc/self/mountinfo"]).stdout.contains(dir))
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}
