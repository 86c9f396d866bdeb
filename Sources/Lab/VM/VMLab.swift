import Foundation
import PackageConfig
import Primitives

/// The kernel NFS lab (`hanfs lab up --kernel`): the two-node lab of
/// TwoNodeLab built inside one qemu VM running Debian's kernel, which has
/// what this machine's lacks: nfsd (one per network namespace), lockd, the
/// NFS client and device-mapper. The guest's root is this machine's, so
/// the same hanfs builds the lab in it (`hanfs lab up --server kernel`),
/// and every other `hanfs lab` command given here is the same command run
/// there through the guest agent: one lab, run in two places.
public struct VMLab: Sendable {
    /// The lab's directory on this machine: the VM's files are in `vm/`.
    public let dir: String
    public let hanfs: String

    public init(dir: String, hanfs: String) {
        self.dir = dir
        self.hanfs = hanfs
    }

    var vmDirectory: String { Self.vmDirectory(dir) }
    static func vmDirectory(_ dir: String) -> String { "\(dir)/vm" }

    /// Whether the lab in `dir` is a VM lab.
    public static func exists(in dir: String) -> Bool { FileManager.default.fileExists(atPath: vmDirectory(dir)) }

    /// The modules the guest loads before the lab is built.
    static let modules = ["nfsd", "nfsv3", "nfsv4", "lockd", "dm_mod", "loop", "veth", "bridge", "ext4"]

    /// Boots the VM and builds the lab in it; what went wrong powers it off and removes it.
    public func up(manager: ClusterManager, grace: Int, nlmGrace: Int? = nil, vgOwnership: VGOwnership = .tags, log: (String) -> Void) throws {
        if Self.exists(in: dir) || FileManager.default.fileExists(atPath: "\(dir)/up") {
            throw LabError("the lab is up already (\(dir)): hanfs lab down first")
        }
        let lab = TwoNodeLab(dir: dir, hanfs: hanfs)
        lab.down(log: { _ in })
        try lab.removingOnFailure(log: log) {
            let kernel = try KernelImage.current()
            try kernel.prepare(log: log)
            let vm = VirtualMachine(dir: vmDirectory, kernel: kernel, agent: hanfs)
            defer { vm.close() }
            let ready = try vm.boot()
            log("VM: Debian's kernel \(kernel.release) in qemu (TCG), this machine's / as its root, ready \(CommandResult.seconds(ready)) after qemu started")
            try check(vm.run(["modprobe", "-a"] + Self.modules), "loading \(Self.modules.joined(separator: " "))")
            let keep = ProcessInfo.processInfo.environment["HANFS_LAB_KEEP"] == "1" ? ["env", "HANFS_LAB_KEEP=1"] : []
            let r = try vm.run(
                keep + [hanfs, "lab", "up", "--server", "kernel", "--manager", manager.rawValue, "--grace", String(grace)]
                    + (nlmGrace.map { ["--nlm-grace", String($0)] } ?? []) + ["--vg-ownership", vgOwnership.rawValue], timeout: 900)
            for line in r.stdoutText.split(separator: "\n") { log(String(line)) }
            try check(r, "hanfs lab up in the VM")
        }
    }

    /// A `hanfs lab` command run in the VM's lab; its result as it ended there.
    public func forward(_ arguments: [String]) throws -> CommandResult {
        try run([hanfs, "lab"] + arguments, timeout: 3600)
    }

    /// A command run in the VM (where the lab's hosts are); its result as it ended there.
    public func run(_ argv: [String], timeout: Double) throws -> CommandResult {
        let vm = try VirtualMachine(attachingTo: vmDirectory)
        defer { vm.close() }
        return try vm.run(argv, timeout: timeout)
    }

    private func check(_ r: CommandResult, _ what: String) throws {
        guard r.succeeded else { throw LabError("\(what) \(r.summary): \(r.stderrTail())") }
    }
}
