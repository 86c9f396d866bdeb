import Foundation
import Lab
import Primitives
import TestSupport
import Testing

/// The end-to-end failover, as the README's main command runs it: `hanfs lab
/// up`, `failover` twice, `down`, with a real client in its own namespaces.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, loop devices, daemons"))
struct LabFailover {
    @Test func theClientKeepsItsDataHandlesAndLocksAcrossTwoFailovers() throws {
        let dir = "/tmp/hanfs-e2e-\(getpid())"
        let env = ["HANFS_LAB_DIR": dir]
        let hanfsLab = { (arguments: [String]) in try output([hanfsBinary, "lab"] + arguments, environment: env, timeout: 240) }
        defer { _ = try? hanfsLab(["down"]) }
        let lab = TwoNodeLab(dir: dir, hanfs: hanfsBinary)

        let up = try hanfsLab(["up"])
        try #require(up.status == 0, "\(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("package nfspkg started on node1"))
        #expect(try hanfsLab(["status"]).stdout.contains("package nfspkg runs on node1"))

        // The client writes a file through the package address before the failover.
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

        let first = try hanfsLab(["failover"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        for line in ["failover of nfspkg: node1 -> node2", "start on node2 start NFS-Ganesha with 1 export(s)",
                     "client, NFSv3: outage", "client, NFSv4: outage", "(none stale)", "reclaim after: granted",
                     "client1's rpc.statd: SM_NOTIFY from nfspkg at +"] {
            #expect(first.stdout.contains(line), "\(line) in:\n\(first.stdout)")
        }
        // It reads back identical, over NFSv3 and NFSv4, from node2.
        #expect(try lab.on("client", ["nfs-cat", "\(lab.exportURL)/written.txt"]).stdoutText == content)
        #expect(try lab.on("client", ["nfs-cat", "\(lab.exportURL)/written.txt?version=4"], check: false).stdoutText == content)
        #expect(lab.runningOn() == "node2")
        // node2's NFS-Ganesha found the NFSv4 clients node1 had recorded on the shared
        // storage, and waits for them to reclaim: the recovery directory moved with the package.
        let ganeshaLog = try String(contentsOfFile: "\(dir)/log/node2/nfspkg.ganesha.log", encoding: .utf8)
        let counts = ganeshaLog.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: "clid count(") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect((counts.first ?? 0) > 0, "NFS-Ganesha on node2 found no NFSv4 client records")

        // And back.
        let second = try hanfsLab(["failover"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("failover of nfspkg: node2 -> node1"))
        #expect(second.stdout.contains("client1's rpc.statd: SM_NOTIFY from nfspkg at +"), "\(second.stdout)")
        #expect(try lab.on("client", ["nfs-cat", "\(lab.exportURL)/written.txt"]).stdoutText == content)

        // node1, which runs it, loses its power: node2 takes the package over (its VG
        // still tagged by node1), the client keeps its data, handles and lock, and
        // node1 boots again without running it.
        #expect(lab.runningOn() == "node1")
        let crash = try hanfsLab(["crash"])
        #expect(crash.status == 0, "\(crash.stdout)\(crash.stderr)")
        for line in ["crash of node1, which ran nfspkg", "start on node2 took volume group vglab over from node1",
                     "client, NFSv3: outage", "(none stale)", "reclaim after: granted",
                     "client1's rpc.statd: SM_NOTIFY from nfspkg at +", "node1 booted again and does not run it",
                     "records acknowledged with FILE_SYNC, every one on the disk after the crash"] {
            #expect(crash.stdout.contains(line), "\(line) in:\n\(crash.stdout)")
        }
        #expect(lab.runningOn() == "node2")
        #expect(try lab.on("client", ["nfs-cat", "\(lab.exportURL)/written.txt"]).stdoutText == content)

        // The idle node crashes and boots again: nothing changes, the client reads on.
        let idle = try hanfsLab(["crash", "node1"])
        #expect(idle.status == 0, "\(idle.stdout)\(idle.stderr)")
        #expect(idle.stdout.contains("crash of node1, which ran nothing: powered off and booted again; nfspkg stays on node2"), "\(idle.stdout)")
        #expect(lab.runningOn() == "node2")

        // A stop while the client reads a large file does not hang.
        try lab.on("node2", ["dd", "if=/dev/zero", "of=/srv/nfs/share/big", "bs=1M", "count=24", "status=none"])
        let reading = Thread.detachedResult {
            (0..<5).map { _ in (try? lab.on("client", ["nfs-cat", "\(lab.exportURL)/big"], timeout: 20, check: false))?.stdout.count ?? 0 }
        }
        usleep(300_000)
        let stop = try lab.hanfs("node2", "stop", check: false)
        #expect(stop.succeeded, "\(stop.stderrText)")
        #expect(stop.duration < 15, "stop took \(stop.duration) s")
        _ = try reading.value()
        #expect(lab.runningOn() == nil)

        let down = try hanfsLab(["down"])
        #expect(down.status == 0)
        #expect(try !output(["ip", "netns", "list"]).stdout.contains(lab.netns("node1")))
        #expect(!FileManager.default.fileExists(atPath: dir))
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
