import Foundation
import Lab
import Primitives
import TestSupport
import Testing

/// Whether qemu is here to run the VM lab.
var hasQemu: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }

/// The VM lab's base: Debian's own kernel, downloaded and unpacked (never
/// installed here), booted in qemu with this machine's / as its root, and
/// commands run in it through hanfs's guest agent.
@Suite(.serialized, .enabled(if: isRoot && hasQemu, "needs root and qemu"))
struct KernelVM {
    @Test func debiansKernelBootsWithNfsdAndDeviceMapperAndRunsCommands() throws {
        let kernel = try KernelImage.current()
        try kernel.prepare(log: { print($0) })
        #expect(!(try kernel.prepare(log: { _ in })), "a prepared kernel is made again")
        let vm = VirtualMachine(dir: "/tmp/hanfs-vm-\(getpid())", kernel: kernel, agent: hanfsBinary)
        defer { vm.powerOff() }
        let ready = try vm.boot()
        print("VM ready \(ready) s after qemu started")
        #expect(try vm.run(["uname", "-r"]).stdoutText == kernel.release + "\n")
        #expect(try vm.run(["hostname"]).stdoutText == "lab\n")
        // What this machine's kernel lacks: the NFS server, and device-mapper.
        #expect(try vm.run(["modprobe", "nfsd"]).succeeded)
        #expect(try vm.run(["grep", "-qw", "nfsd", "/proc/filesystems"]).succeeded)
        #expect(try vm.run(["modprobe", "dm_mod"]).succeeded)
        #expect(try vm.run(["test", "-c", "/dev/mapper/control"]).succeeded)
        // Exit status and stderr come back as the guest saw them; a timeout ends the command.
        let missing = try vm.run(["ls", "/nonexistent"])
        #expect(missing.exitCode == 2 && missing.stderrText.contains("No such file"), "\(missing)")
        let slow = try vm.run(["sleep", "30"], timeout: 1)
        #expect(slow.timedOut)
        let pid = try #require(vm.pid)
        vm.powerOff()
        #expect(kill(pid, 0) != 0 || ProcessTable.matching { $0.first == "qemu-system-x86_64" }.isEmpty)
    }
}

/// The kernel NFS lab (`hanfs lab up --kernel`): the two-node lab inside a
/// VM running Debian's kernel, the package served by the kernel's nfsd
/// (started by the package, under its scope, its NFSv4 client records on
/// its storage), its volume group activated through device-mapper by host
/// tag, and the client's applications on kernel NFSv3 and NFSv4.2 mounts
/// reading, writing and holding locks across each failover.
@Suite(.serialized, .enabled(if: isRoot && hasQemu, "needs root and qemu"))
struct KernelNFSLab {
    @Test func theKernelServerFailsOverWithRealLVMAndTheClientsApplicationsCarryOn() throws {
        let dir = "/tmp/hanfs-e2e-kernel-\(getpid())"
        let lab = Self.lab(in: dir)
        defer {
            _ = try? lab(["down"])
            #expect(!FileManager.default.fileExists(atPath: dir))
        }
        // lockd's grace period shorter than NFSv4's: new locks need both to have ended.
        let up = try lab(["up", "--kernel", "--grace", "30", "--nlm-grace", "10"])
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")
        for line in ["VM: Debian's kernel", "volume group vglab with the logical volume /dev/vglab/share (ext4) through device-mapper",
                     "package nfspkg started on node1 by Pacemaker (ocf:hanfs:package)", "the kernel's NFS client mounts 192.0.2.10:/srv/nfs/share over NFSv3"] {
            #expect(up.stdout.contains(line), "\(line) in:\n\(up.stdout)")
        }
        let status = try lab(["status"]).stdout
        for line in ["up   vg vglab: tags node1, 1/1 LVs active", "up   fs /srv/nfs/share: /dev/mapper/vglab-share (ext4) mounted",
                     "up   kernel NFS server: 8 threads, scope nfspkg", "up   export 192.0.2.0/24:/srv/nfs/share"] {
            #expect(status.contains(line), "\(line) in:\n\(status)")
        }
        // nfsd keeps its NFSv4 client records with nfsdcld, on the package's storage.
        #expect(try lab(["exec", "node1", "--", "dmesg"]).stdout.contains("NFSD: Using nfsdcld client tracking operations"))
        #expect(try lab(["exec", "node1", "--", "test", "-s", "/srv/nfs/share/.nfsdcld/main.sqlite"]).status == 0)

        // A planned failover and back, and a crash: each with every check of the client's.
        let expected = [
            "stop on node1  release the NLM locks taken through 192.0.2.10", "stop on node1  stop the kernel NFS server",
            "start on node2 start the kernel NFS server as nfspkg", "client, kernel NFSv3 mount: outage",
            "client, kernel NFSv4.2 mount: outage", "client1's rpc.statd: SM_NOTIFY from nfspkg at +",
            // The client on record reclaimed: the kernel ends the 30 s grace period then, not after 30 s.
            "the kernel server's NFSv4 grace period (30 s): ended early by the kernel",
        ]
        let failover = try lab(["failover"])
        #expect(failover.status == 0, "\(failover.stdout)\(failover.stderr)")
        for line in expected { #expect(failover.stdout.contains(line), "\(line) in:\n\(failover.stdout)") }
        #expect(failover.stdout.components(separatedBy: "no read or write failed").count == 3, "\(failover.stdout)")
        #expect(failover.stdout.components(separatedBy: "its lock reclaimed (held by the server)").count == 3, "\(failover.stdout)")
        // The stop recorded the client's connections (NFSv3's and NFSv4.2's); node2 prompted both to
        // reconnect as soon as its address was up (a tickle ACK), and both did.
        #expect(failover.stdout.contains("node2 prompted 2 client connection(s) recorded by the stop to reconnect: 2 did"), "\(failover.stdout)")
        // The NFSv4 grace period ended early and lockd's (10 s) ran out: new locks, over NFSv3
        // and NFSv4.2 alike, were granted well before the 30 s NFSv4 grace period could have.
        let newLocks = Self.newLockSeconds(failover.stdout)
        #expect(newLocks.count == 2 && newLocks.allSatisfy { $0 >= 9 && $0 < 25 }, "\(failover.stdout)")
        // The client's applications of the failover are gone with it.
        let leftover = try lab(["exec", "client", "--", "pgrep", "-f", "lab-client (read|append|hold)"])
        #expect(leftover.status == 1, "still running after the failover: \(leftover.stdout)")
        let after = try lab(["status"]).stdout
        #expect(after.contains("package nfspkg runs on node2") && after.contains("up   vg vglab: tags node2, 1/1 LVs active"), "\(after)")
        // The node that stopped holds nothing: its nfsd has no threads, the volume group is not its.
        let left = try lab(["exec", "node1", "--", hanfsBinary, "status", "--config", "/var/tmp/hanfs-lab/nfspkg.lua"]).stdout
        for line in ["down vg vglab: tags node2", "down kernel NFS server: not running", "down fs /srv/nfs/share"] {
            #expect(left.contains(line), "\(line) in:\n\(left)")
        }

        let crash = try lab(["crash"])
        #expect(crash.status == 0, "\(crash.stdout)\(crash.stderr)")
        for line in ["crash of node2, which ran nfspkg", "pacemaker      node2 fenced (off) by node1", "took volume group vglab over from node2",
                     "client, kernel NFSv4.2 mount: outage", "rejoined the cluster in", "the kernel server's NFSv4 grace period (30 s): ended early by the kernel",
                     // What node2's monitor recorded last.
                     "node1 prompted", "client connection(s) recorded by the monitor to reconnect"] {
            #expect(crash.stdout.contains(line), "\(line) in:\n\(crash.stdout)")
        }
        #expect(crash.stdout.components(separatedBy: "no read or write failed").count == 3, "\(crash.stdout)")
        // Not before: a second NFSv4.2 client on the server's record has died, so not every client
        // reclaims, and the grace period runs its whole length; new opens wait for it.
        let stranded = try lab(["failover", "--dead-client"])
        #expect(stranded.status == 0, "\(stranded.stdout)\(stranded.stderr)")
        for line in ["client2 mounted the export over NFSv4.2, read, and lost its power",
                     "the kernel server's NFSv4 grace period (30 s): ran out: a client on record did not reclaim"] {
            #expect(stranded.stdout.contains(line), "\(line) in:\n\(stranded.stdout)")
        }
        let v4 = stranded.stdout.split(separator: "\n").first { $0.contains("client, kernel NFSv4.2 mount: outage ") }
        let waited = v4.flatMap { Int($0.split(separator: " ").drop { $0 != "outage" }.dropFirst().first ?? "") }
        #expect((waited ?? 0) >= 25_000, "the NFSv4.2 reader's opens should wait out the grace period: \(v4 ?? "no line")")
        // NFSv3 does not wait for the NFSv4 grace period; both of the live client's connections were
        // prompted and came back (the dead client's did not). node2, which crashed and booted since it
        // last served, kept no connection of before (a socket of its old nfsd answering for the
        // client's NFSv3 connection held it 54 s, until the lab's power off took them all).
        let v3 = stranded.stdout.split(separator: "\n").first { $0.contains("client, kernel NFSv3 mount: outage ") }
        let v3Waited = v3.flatMap { Int($0.split(separator: " ").drop { $0 != "outage" }.dropFirst().first ?? "") }
        #expect((v3Waited ?? .max) < 25_000, "\(v3 ?? "no line")")
        #expect(stranded.stdout.contains("node2 prompted 3 client connection(s) recorded by the stop to reconnect: 2 did"), "\(stranded.stdout)")
        // New locks wait for every grace period of the server: the NFSv4 one too, NLM's included.
        let lateLocks = Self.newLockSeconds(stranded.stdout)
        #expect(lateLocks.count == 2 && lateLocks.allSatisfy { $0 >= 29 }, "\(stranded.stdout)")
        print(failover.stdout + crash.stdout + stranded.stdout)

        let down = try lab(["down"])
        #expect(down.status == 0 && down.stdout.contains("its VM is off"), "\(down.stdout)\(down.stderr)")
        let qemus = ProcessTable.matching { argv in (argv.first.map { $0.hasSuffix("qemu-system-x86_64") } ?? false) && argv.contains { $0.hasPrefix(dir) } }
        #expect(qemus.isEmpty)
    }

    /// The volume group owned by LVM system ID (each node's is its host
    /// name): taken, moved, and after a crash taken over from the dead
    /// node, each time activated through device-mapper; hanfs itself
    /// decides (no cluster manager).
    @Test func theVolumeGroupByLVMSystemIDFailsOverAndIsTakenOverAfterACrash() throws {
        let dir = "/tmp/hanfs-e2e-sysid-\(getpid())"
        let lab = Self.lab(in: dir)
        defer {
            _ = try? lab(["down"])
            #expect(!FileManager.default.fileExists(atPath: dir))
        }
        let up = try lab(["up", "--kernel", "--manager", "none", "--vg-ownership", "system_id"])
        #expect(up.status == 0 && up.stdout.contains("owned by LVM system ID"), "\(up.stdout)\(up.stderr)")
        let status = try lab(["status"]).stdout
        #expect(status.contains("up   vg vglab: no tags, system ID node1, 1/1 LVs active"), "\(status)")
        // The logical volume is a device-mapper device, open (mounted).
        let dm = try lab(["exec", "node1", "--", "dmsetup", "info", "-c", "--noheadings", "-o", "name,open", "vglab-share"])
        #expect(dm.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "vglab-share:1", "\(dm.stdout)\(dm.stderr)")

        let failover = try lab(["failover"])
        #expect(failover.status == 0, "\(failover.stdout)\(failover.stderr)")
        let moved = try lab(["status"]).stdout
        #expect(moved.contains("package nfspkg runs on node2") && moved.contains("up   vg vglab: no tags, system ID node2, 1/1 LVs active"), "\(moved)")
        // node1 gave it up: not its own any more, as its status says.
        let left = try lab(["exec", "node1", "--", hanfsBinary, "status", "--config", "/var/tmp/hanfs-lab/nfspkg.lua"]).stdout
        #expect(left.contains("down vg vglab: no tags, system ID node2"), "\(left)")

        // node2 dies with the VG its own and active: node1 takes it over (extra_system_ids), as its log and the timeline say.
        let crash = try lab(["crash"])
        #expect(crash.status == 0, "\(crash.stdout)\(crash.stderr)")
        #expect(crash.stdout.contains("took volume group vglab over from node2"), "\(crash.stdout)")
        #expect(crash.stdout.components(separatedBy: "no read or write failed").count == 3, "\(crash.stdout)")
        let after = try lab(["status"]).stdout
        #expect(after.contains("package nfspkg runs on node1") && after.contains("up   vg vglab: no tags, system ID node1, 1/1 LVs active"), "\(after)")
        print(failover.stdout + crash.stdout)
    }

    /// `hanfs lab ARGUMENTS...` for the lab in `dir`.
    static func lab(in dir: String) -> ([String]) throws -> Output {
        { arguments in try output([hanfsBinary, "lab"] + arguments, environment: ["HANFS_LAB_DIR": dir], timeout: 900) }
    }

    /// The seconds of each "a new lock granted N s after nfsd started" in a timeline.
    static func newLockSeconds(_ text: String) -> [Double] {
        text.components(separatedBy: "a new lock granted ").dropFirst().compactMap { Double($0.split(separator: " ").first ?? "") }
    }
}
