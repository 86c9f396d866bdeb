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
