import Foundation
import Primitives

/// Debian's own kernel for the VM lab, never installed on this machine:
/// the package `linux-image-amd64` depends on is downloaded with `apt-get
/// download`, unpacked with `dpkg-deb -x`, its modules indexed with
/// `depmod -b`, and its compressed image unpacked to an ELF `vmlinux`,
/// which qemu boots directly (under TCG, decompressing in the guest costs
/// seconds). Cached by package name and version: a new kernel package
/// makes a new image; an unchanged one is reused.
public struct KernelImage: Sendable {
    /// Where images are kept, one directory per package version.
    public let cache: String
    /// The package (`linux-image-6.1.0-57-amd64`) and its version.
    public let package: String
    public let version: String

    public static let defaultCache = "/var/cache/hanfs/lab-kernel"

    /// The kernel's release (`6.1.0-57-amd64`): the package's name without its prefix.
    public var release: String { String(package.dropFirst("linux-image-".count)) }
    public var directory: String { "\(cache)/\(package)_\(version)" }
    /// The unpacked package: boot/, lib/modules/<release>/.
    public var root: String { "\(directory)/root" }
    public var vmlinux: String { "\(directory)/vmlinux" }
    public var initramfs: String { "\(directory)/initramfs.cpio" }
    var ready: String { "\(directory)/ready" }
    public var isReady: Bool { FileManager.default.fileExists(atPath: ready) }

    /// The kernel package the metapackage depends on now, and its version, as apt knows them.
    public static func current(cache: String = defaultCache) throws -> KernelImage {
        let depends = try LabSite.run(Command(["apt-cache", "depends", "linux-image-amd64"], timeout: 60)).stdoutText
        guard let package = depends.split(separator: "\n").compactMap({ line -> String? in
            let f = line.split(separator: " ")
            return f.count == 2 && f[0] == "Depends:" && f[1].hasPrefix("linux-image-") ? String(f[1]) : nil
        }).first else { throw LabError("apt knows no kernel package that linux-image-amd64 depends on (apt-get update?)") }
        let policy = try LabSite.run(Command(["apt-cache", "show", "--no-all-versions", package], timeout: 60)).stdoutText
        guard let version = policy.split(separator: "\n").first(where: { $0.hasPrefix("Version: ") })?.dropFirst("Version: ".count)
        else { throw LabError("apt-cache shows no version of \(package)") }
        return KernelImage(cache: cache, package: package, version: String(version))
    }

    init(cache: String, package: String, version: String) {
        self.cache = cache
        self.package = package
        self.version = version
    }

    /// Downloads, unpacks and indexes the kernel, unless this version is
    /// made already, and builds the initramfs, unless the one there was made
    /// by the same builder; other versions are removed. Returns whether it
    /// made anything.
    @discardableResult
    public func prepare(log: (String) -> Void) throws -> Bool {
        let fm = FileManager.default
        for other in (try? fm.contentsOfDirectory(atPath: cache)) ?? [] where "\(cache)/\(other)" != directory {
            try? fm.removeItem(atPath: "\(cache)/\(other)")
        }
        let initramfs = Initramfs(kernel: self)
        if isReady {
            guard (try? String(contentsOfFile: "\(directory)/initramfs.made", encoding: .utf8)) != initramfs.revision else { return false }
            try initramfs.build()
            log("initramfs rebuilt for \(package) \(version)")
            return true
        }
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        try LabSite.run(Command(["env", "-C", directory, "apt-get", "download", package], timeout: 600))
        guard let deb = try fm.contentsOfDirectory(atPath: directory).first(where: { $0.hasSuffix(".deb") }) else {
            throw LabError("apt-get download \(package) left no .deb in \(directory)")
        }
        try LabSite.run(Command(["dpkg-deb", "-x", "\(directory)/\(deb)", root], timeout: 600))
        try fm.removeItem(atPath: "\(directory)/\(deb)")
        try LabSite.run(Command(["depmod", "-b", root, release], timeout: 300))
        try unpackImage()
        try initramfs.build()
        _ = fm.createFile(atPath: ready, contents: Data("\(package) \(version)\n".utf8))
        log("kernel \(package) \(version) unpacked in \(directory)")
        return true
    }

    /// vmlinuz is a boot stub followed by an xz stream of the kernel: the
    /// stream, from its magic on, decompressed alone.
    func unpackImage() throws {
        let vmlinuz = try Data(contentsOf: URL(fileURLWithPath: "\(root)/boot/vmlinuz-\(release)"))
        let magic = Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])
        guard let at = vmlinuz.range(of: magic) else { throw LabError("vmlinuz-\(release) holds no xz stream") }
        try vmlinuz[at.lowerBound...].write(to: URL(fileURLWithPath: vmlinux + ".xz"))
        try LabSite.run(Command(["xz", "--decompress", "--single-stream", "--force", vmlinux + ".xz"], timeout: 300))
    }
}
