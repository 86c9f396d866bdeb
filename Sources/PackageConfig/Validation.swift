/// The checks that need the whole package, not one value. Each path's file
/// system is found by its ancestors, not by trying every file system, and
/// duplicates by hashing: validation grows linearly with the package.
public struct Validation {
    let c: PackageConfiguration
    let names: (Field) -> String
    let fileSystemOf: MountPoints
    let file: Source
    var errors: [ConfigError] = []

    public static func check(_ c: PackageConfiguration, names: @escaping (Field) -> String) -> [ConfigError] {
        var v = Validation(c: c, names: names, fileSystemOf: MountPoints(c.fileSystems), file: Source(file: c.file, line: 0))
        if c.name.isEmpty { v.fail(v.file, .packageName, "missing: the package has no name") }
        let vgs = v.checkVolumeGroups()
        v.checkFileSystems(vgs)
        v.checkExports()
        v.checkAddresses()
        v.checkLockMigration()
        v.checkMonitor()
        if c.nfsServer == .ganesha { v.checkGanesha() }
        if c.nfsServer == .kernel && c.kernel.manage { v.checkKernelServer() }
        return v.errors
    }

    mutating func fail(_ at: Source, _ field: Field, _ problem: String) {
        errors.append(ConfigError(at, names(field), problem))
    }

    mutating func checkVolumeGroups() -> [String: Source] {
        var vgs: [String: Source] = [:]
        for vg in c.volumeGroups {
            if let first = vgs[vg.name] { fail(vg.source, .volumeGroup, "\(vg.name) is listed twice (first at line \(first.line))") }
            vgs[vg.name] = vg.source
        }
        return vgs
    }

    mutating func checkFileSystems(_ vgs: [String: Source]) {
        var mountPoints: [String: Source] = .init(minimumCapacity: c.fileSystems.count)
        var devices: [String: Source] = .init(minimumCapacity: c.fileSystems.count)
        for fs in c.fileSystems {
            if fs.directory == "/" { fail(fs.source, .fsDirectory, "/ cannot be a package file system") }
            if let first = mountPoints[fs.directory] {
                fail(fs.source, .fsDirectory, "\(fs.directory) is mounted twice (first at line \(first.line))")
            }
            if let first = devices[fs.device] { fail(fs.source, .fsDevice, "\(fs.device) is used twice (first at line \(first.line))") }
            mountPoints[fs.directory] = fs.source
            devices[fs.device] = fs.source
            // An LV of a VG the package does not activate would not be there after a failover.
            let parts = fs.device.split(separator: "/")
            if parts.count == 3, parts[0] == "dev", !c.volumeGroups.isEmpty, vgs[String(parts[1])] == nil,
                !["mapper", "disk", "md"].contains(parts[1]) && !parts[1].hasPrefix("loop")
            {
                fail(fs.source, .fsDevice, "\(fs.device) is in VG \(parts[1]), which the package does not list")
            }
        }
    }

    mutating func checkExports() {
        var directoryOfFSID: [FSID: (String, Source)] = .init(minimumCapacity: c.exports.count)
        var fsidOfDirectory: [String: FSID] = .init(minimumCapacity: c.exports.count)
        var targets: Set<String> = .init(minimumCapacity: c.exports.count)
        for e in c.exports {
            let target = "\(e.clients):\(e.directory)"
            if !targets.insert(target).inserted { fail(e.source, .export, "\(target) is exported twice") }
            guard let fsid = e.fsid else {
                fail(e.source, .export, "export of \(e.directory) has no fsid: add fsid=N (unique in the package) so that clients keep their file handles after a failover")
                continue
            }
            if let (other, at) = directoryOfFSID[fsid], other != e.directory {
                fail(e.source, .export, "fsid=\(fsid) of \(e.directory) is already used by \(other) (\(at))")
            }
            if let other = fsidOfDirectory[e.directory], other != fsid {
                fail(e.source, .export, "\(e.directory) is exported with fsid=\(other) and fsid=\(fsid)")
            }
            directoryOfFSID[fsid] = directoryOfFSID[fsid] ?? (e.directory, e.source)
            fsidOfDirectory[e.directory] = fsid
            if !c.fileSystems.isEmpty && fileSystemOf.containing(e.directory) == nil {
                fail(e.source, .export, "\(e.directory) is on none of the package's file systems: after a failover it would export another node's local directory")
            }
        }
    }

    mutating func checkAddresses() {
        var seen: [IPAddress: Source] = [:]
        for a in c.addresses {
            if let first = seen[a.address] { fail(a.source, .ipAddress, "\(a.address) is listed twice (first at line \(first.line))") }
            seen[a.address] = a.source
            guard let subnet = a.subnet else { continue }
            if subnet.network.isIPv6 != a.address.isIPv6 {
                fail(a.source, .ipAddress, "\(a.address) and subnet \(subnet) are of different families")
            } else if let p = subnet.prefix ?? a.prefix, !a.address.sameNetwork(as: subnet.network, prefix: p) {
                fail(a.source, .ipAddress, "\(a.address) is not in subnet \(subnet)")
            }
        }
    }

    mutating func checkLockMigration() {
        guard c.lockMigration.enabled else { return }
        let dir = c.lockMigration.holdingDirectory
        if dir.isEmpty {
            fail(c.sources[.lockMigration] ?? file, .holdingDirectory, "lock migration is on but there is no holding directory")
        } else if fileSystemOf.containing(dir) == nil {
            fail(c.lockMigration.source ?? file, .holdingDirectory, "\(dir) is on none of the package's file systems: it must move with the package")
        }
    }

    /// Each message names the attribute and the line it was set on; a
    /// default that conflicts is named at the attribute that was set.
    mutating func checkGanesha() {
        let g = c.ganesha
        let grace = c.sources[.ganeshaGracePeriod]
        let lease = c.sources[.ganeshaLeaseLifetime]
        if g.gracePeriod < g.leaseLifetime {
            let (at, field) = grace != nil || lease == nil ? (grace ?? file, Field.ganeshaGracePeriod) : (lease!, Field.ganeshaLeaseLifetime)
            fail(at, field, "the grace period (\(g.gracePeriod) s) is shorter than the lease (\(g.leaseLifetime) s): clients could not reclaim in time")
        }
        if g.gracePeriod > 180 { fail(grace ?? file, .ganeshaGracePeriod, "at most 180 s (NFS-Ganesha's limit)") }
        if g.leaseLifetime < 1 || g.leaseLifetime > 120 { fail(lease ?? file, .ganeshaLeaseLifetime, "1 to 120 s (NFS-Ganesha's limits)") }
        if c.fileSystems.isEmpty {
            fail(c.sources[.nfsServer] ?? file, .nfsServer, "NFS-Ganesha needs a package file system for its NFSv4 recovery directory")
        } else {
            checkRecoveryDirectory(g.recoveryDirectory, g.source, .ganeshaRecoveryDirectory)
        }
        for e in c.exports {
            for option in e.options {
                if case .refused(let why)? = ExportSpec.underGanesha[ExportSpec.name(option)] {
                    fail(e.source, .export, "export option \(option) of \(e.directory): \(why)")
                }
            }
            if e.clients.contains(where: { "?[]".contains($0) }) {
                fail(e.source, .export, "client \(e.clients): NFS-Ganesha takes *, host names, addresses, networks and @netgroups, not ? or [ ] patterns")
            }
            switch e.fsid {
            case .number(let id)? where !(1...65535).contains(id):
                fail(e.source, .export, "fsid \(id): NFS-Ganesha's Export_Id is 1 to 65535")
            case .root?, .uuid?: fail(e.source, .export, "fsid \(e.fsid!): NFS-Ganesha needs a number (its Export_Id)")
            default: break
            }
        }
    }
}

extension Validation {
    /// The kernel's limits (NFSD_LEASE_TIME_MIN/MAX), the scope a host name can hold, the records on the package's storage.
    mutating func checkKernelServer() {
        let k = c.kernel
        let grace = c.sources[.kernelGraceTime]
        let lease = c.sources[.kernelLeaseTime]
        if k.leaseTime < 10 || k.leaseTime > 3600 { fail(lease ?? file, .kernelLeaseTime, "10 to 3600 s (the kernel's limits)") }
        if k.graceTime < 10 || k.graceTime > 3600 { fail(grace ?? file, .kernelGraceTime, "10 to 3600 s (the kernel's limits)") }
        if k.nlmGraceTime != 0 && (k.nlmGraceTime < 10 || k.nlmGraceTime > 240) {
            fail(c.sources[.kernelNLMGraceTime] ?? file, .kernelNLMGraceTime, "10 to 240 s (lockd's limits)")
        }
        if k.graceTime < k.leaseTime {
            let (at, field) = grace != nil || lease == nil ? (grace ?? file, Field.kernelGraceTime) : (lease!, Field.kernelLeaseTime)
            fail(at, field, "the grace period (\(k.graceTime) s) is shorter than the lease (\(k.leaseTime) s): clients could not reclaim in time")
        }
        let scope = c.kernelScope
        if scope.utf8.count > 64 || scope.contains(where: { $0.isWhitespace || $0 == "/" }) {
            fail(c.sources[.kernelScope] ?? file, .kernelScope, "\(scope): a host name (at most 64 bytes, no spaces or /) expected")
        }
        if c.fileSystems.isEmpty {
            fail(c.sources[.kernelManage] ?? file, .kernelManage, "the kernel server's NFSv4 client records need a package file system")
        } else {
            checkRecoveryDirectory(k.recoveryDirectory, k.source, .kernelRecoveryDirectory)
        }
    }
}

extension Validation {
    /// The server's NFSv4 recovery directory, given as its own or as the
    /// toolkit's NFSV4_FLM_HOLDING_DIR (not both): on a package file system.
    mutating func checkRecoveryDirectory(_ own: String, _ ownSource: Source?, _ field: Field) {
        let holding = c.nfsv4HoldingDirectory
        let holdingAt = c.sources[.nfsv4HoldingDirectory] ?? file
        if !own.isEmpty && !holding.isEmpty && own != holding {
            fail(ownSource ?? file, field, "\(own) and \(names(.nfsv4HoldingDirectory)) \(holding) (\(holdingAt)) name the same directory: keep one")
        }
        for (dir, at, f) in [(own, ownSource ?? file, field), (holding, holdingAt, .nfsv4HoldingDirectory)] where !dir.isEmpty {
            if fileSystemOf.containing(dir) == nil {
                fail(at, f, "\(dir) is on none of the package's file systems: it must move with the package")
                return
            }
        }
    }

    /// What the monitor and the toolkit's maintenance mode need.
    mutating func checkMonitor() {
        if !c.monitor.maintenance && !c.monitor.maintenanceFile.isEmpty {
            fail(c.sources[.maintenanceFile] ?? file, .maintenanceFile, "set, but \(names(.maintenanceFlag)) is NO: there is no maintenance mode")
        }
    }
}

extension PackageConfiguration {
    /// The kernel server's NFSv4 server scope.
    public var kernelScope: String { kernel.scope.isEmpty ? name : kernel.scope }

    /// lockd's grace period: its own, or the NFSv4 one within lockd's limit.
    public var kernelNLMGraceTime: Double { kernel.nlmGraceTime != 0 ? kernel.nlmGraceTime : min(kernel.graceTime, 240) }

    /// Where nfsdcld keeps the package's NFSv4 client records.
    public var kernelRecoveryDirectory: String {
        if !kernel.recoveryDirectory.isEmpty { return kernel.recoveryDirectory }
        if !nfsv4HoldingDirectory.isEmpty { return nfsv4HoldingDirectory }
        return (fileSystems.first?.directory ?? "/var/lib/nfs") + "/.nfsdcld"
    }

    /// The file whose presence pauses the monitor: maintenance_file, else
    /// the toolkit's nfs.debug in TKIT_DIR, else one in `runDirectory`;
    /// nil with MAINTENANCE_FLAG=NO (no maintenance mode).
    public func maintenanceFile(runDirectory: String) -> String? {
        guard monitor.maintenance else { return nil }
        if !monitor.maintenanceFile.isEmpty { return monitor.maintenanceFile }
        if !toolkitDirectory.isEmpty { return toolkitDirectory + "/nfs.debug" }
        return "\(runDirectory)/\(name).maintenance"
    }

    /// The package file system hanfs keeps its own records on (the clients'
    /// connections): the first.
    public var recordFileSystem: String? { fileSystems.first?.directory }

    /// Where NFS-Ganesha keeps its NFSv4 client records for the package.
    public var ganeshaRecoveryDirectory: String {
        if !ganesha.recoveryDirectory.isEmpty { return ganesha.recoveryDirectory }
        if !nfsv4HoldingDirectory.isEmpty { return nfsv4HoldingDirectory }
        return (fileSystems.first?.directory ?? "/var/lib/nfs") + "/.ganesha"
    }

    /// The package file system a path lives on (the deepest mount point
    /// above it), compared byte by byte, as the kernel compares names.
    public func fileSystem(containing path: String) -> FileSystem? { MountPoints(fileSystems).containing(path) }

    /// Whether `path` is `directory` or below it, byte by byte.
    public static func path(_ path: String, isAtOrBelow directory: String) -> Bool {
        let p = Array(path.utf8)
        let d = Array(directory.utf8)
        if p == d { return true }
        if d == Array("/".utf8) { return p.first == UInt8(ascii: "/") }
        return p.count > d.count && p.starts(with: d) && p[d.count] == UInt8(ascii: "/")
    }
}

/// The package's file systems by mount point, byte for byte (the key is
/// the UTF-8 bytes: Swift's String equality is Unicode's, not the kernel's).
struct MountPoints {
    private var byPath: [[UInt8]: FileSystem] = [:]

    init(_ fileSystems: [FileSystem]) {
        for fs in fileSystems where byPath[Array(fs.directory.utf8)] == nil { byPath[Array(fs.directory.utf8)] = fs }
    }

    /// The file system of the deepest mount point at or above `path`.
    func containing(_ path: String) -> FileSystem? {
        var p = Array(path.utf8)
        while true {
            if let fs = byPath[p] { return fs }
            guard let slash = p.lastIndex(of: UInt8(ascii: "/")) else { return nil }
            if slash == 0 { return p.count > 1 ? byPath[[UInt8(ascii: "/")]] : nil }
            p.removeSubrange(slash...)
        }
    }
}
