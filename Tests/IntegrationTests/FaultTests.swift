import Foundation
import TestSupport
import Testing

/// Each step of start made to fail, for real, in turn: what was done before
/// it is undone, and the node is left clean.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loop devices, namespaces, mounts"))
struct StartRollsBack {
    func expectRolledBack(_ lab: Lab, _ config: String, because reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 1, sourceLocation: sourceLocation)
        #expect(start.stderr.contains(reason), "\(start.stderr)", sourceLocation: sourceLocation)
        try StartStop.expectClean(lab, "after: \(reason)", sourceLocation: sourceLocation)
    }

    @Test func volumeGroupStep() throws {
        // The second VG belongs to another node: the first is given back.
        let lab = try Lab(volumeGroups: ["vga", "vgb"], fileSystems: ["ext4"])
        try lab.lvm(["vgchange", "--addtag", "node2", "vgb"])
        let config = try StartStop.package(lab)
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.contains("volume group vgb is tagged by another node node2; refusing"), "\(start.stderr)")
        #expect(try lab.tags("vga") == [])
        #expect(try lab.tags("vgb") == ["node2"])
        #expect(try lab.mountPoints() == [])
    }

    @Test func fsckStep() throws {
        // The second file system is damaged beyond what fsck -p repairs.
        let lab = try Lab(fileSystems: ["ext4", "ext4"])
        try lab.sh(["dd", "if=/dev/zero", "of=\(lab.devices[1])", "bs=1024", "seek=1", "count=4", "conv=notrunc", "status=none"])
        let config = try StartStop.package(lab, extra: ", run_fsck = \"force\"", exports: ["/srv/nfs/fs0"])
        try expectRolledBack(lab, config, because: "fsck of \(lab.devices[1]) failed")
    }

    @Test func mountStep() throws {
        // The second file system is declared xfs but is ext4: fsck passes
        // (fsck.xfs checks nothing), mount fails, and the first mount is undone.
        let lab = try Lab(fileSystems: ["ext4", "ext4"])
        let config = try StartStop.package(lab, exports: ["/srv/nfs/fs0"])
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "directory = \"/srv/nfs/fs1\", type = \"ext4\"", with: "directory = \"/srv/nfs/fs1\", type = \"xfs\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try expectRolledBack(lab, config, because: "mount -t xfs \(lab.devices[1]) /srv/nfs/fs1 exited with status 32")
    }

    @Test func aMountPointHeldByAnotherFileSystem() throws {
        // Something else is mounted on the package's mount point: refused,
        // and what was there is left there.
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.inNode(["mkdir", "-p", "/srv/nfs/fs0"])
        try lab.inNode(["mount", "-t", "tmpfs", "other", "/srv/nfs/fs0"])
        let config = try StartStop.package(lab)
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.contains("/srv/nfs/fs0 already has other (tmpfs) mounted on it, not \(lab.devices[0])"), "\(start.stderr)")
        #expect(try lab.mountPoints() == ["/srv/nfs/fs0"])
        #expect(try lab.tags("vglab") == [])
        // Nor does stop take it down: it is not the package's.
        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0)
        #expect(stop.stderr.contains("/srv/nfs/fs0 has other (tmpfs) mounted on it, not \(lab.devices[0]): left alone"))
        #expect(try lab.mountPoints() == ["/srv/nfs/fs0"])
    }

    @Test func exportStep() throws {
        // The second export's directory is not on the file system.
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, exports: ["/srv/nfs/fs0", "/srv/nfs/fs0/missing"])
        try expectRolledBack(lab, config, because: "/srv/nfs/fs0/missing is not a directory")
    }

    @Test func addressStep() throws {
        // Another host (the client) already has the package address.
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.inClient(["ip", "addr", "add", "192.0.2.10/24", "dev", lab.interface + "c"])
        let config = try StartStop.package(lab)
        try expectRolledBack(lab, config, because: "192.0.2.10 is in use by another host")
    }
}

/// A start stopped from outside (its deadline, or SIGTERM from a cluster
/// manager that gave up on it) still undoes what it had done.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loop devices, namespaces, mounts"))
struct StoppedStartRollsBack {
    @Test func byItsDeadline() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        // The address probe waits 5 s; the start may take 1.
        let config = try StartStop.package(lab, extra: ", dad_timeout = 5")
        let start = try lab.hanfs(["start", "--deadline", "1", "--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.contains("was stopped: undoing the 3 step(s) it had done"), "\(start.stderr)")
        try StartStop.expectClean(lab)
    }

    @Test func bySIGTERM() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", dad_timeout = 5")
        let pending = Thread.detachedResult { try lab.hanfs(["start", "--config", config]) }
        var pid: Int32?
        for _ in 0..<100 where pid == nil {
            usleep(50_000)
            pid = try processes(withCommandLine: "\(hanfsBinary) start --config \(config)").first
            // Only once it is in the address step.
            if pid != nil, try !lab.addresses().isEmpty, try lab.exportTable().isEmpty { pid = nil }
        }
        usleep(500_000)
        let target = try #require(pid)
        kill(target, SIGTERM)
        let start = try pending.value()
        #expect(start.status == 1)
        #expect(start.stderr.contains("was stopped: undoing"), "\(start.stderr)")
        try StartStop.expectClean(lab)
    }
}

/// What a crashed test run left (a lab whose process is gone) is swept.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, loop devices"))
struct LeftoversOfDeadRuns {
    @Test func aDeadRunsLabIsRemoved() throws {
        // A pid no process has.
        let pid = try #require((2..<32768).reversed().first { kill(Int32($0), 0) != 0 && errno == ESRCH })
        let id = "\(pid)x1"
        let dir = "/tmp/hanfs-lab-\(id)"
        // Made whole before any sweep (another suite's first lab sweeps) can see it.
        do {
            Lab.sweepLock.lock()
            defer { Lab.sweepLock.unlock() }
            try FileManager.default.createDirectory(atPath: dir + "/ns", withIntermediateDirectories: true)
            _ = try output(["truncate", "-s", "8M", "\(dir)/fs0.img"])
            _ = try output(["losetup", "-f", "--show", "\(dir)/fs0.img"])
            // It died before it wrote its hosts: they are found by the names a test lab gives them.
            for host in ["node", "client", "switch"] { _ = try output(["ip", "netns", "add", "hanfs-\(id)-\(host)"]) }
        }

        Lab.sweepLeftovers()

        #expect(try !output(["ip", "netns", "list"]).stdout.contains(id))
        #expect(try !output(["losetup", "-a"]).stdout.contains(dir))
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}
