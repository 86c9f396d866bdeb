/// The checks that need the whole package, not one value.
public enum Validation {
    public static func check(_ c: PackageConfiguration, names: (Field) -> String) -> [ConfigError] {
        var errors: [ConfigError] = []
        // Each path's file system is found by its ancestors, not by trying
        // every file system: validation grows linearly with the package.
        let fileSystemOf = MountPoints(c.fileSystems)
        let file = Source(file: c.file, line: 0)
        if c.name.isEmpty {
            errors.append(ConfigError(file, names(.packageName), "missing: the package has no name"))
        }

        var vgs: [String: Source] = [:]
        for vg in c.volumeGroups {
            if let first = vgs[vg.name] {
                errors.append(ConfigError(vg.source, names(.volumeGroup), "\(vg.name) is listed twice (first at line \(first.line))"))
            }
            vgs[vg.name] = vg.source
        }

        var mountPoints: [String: Source] = .init(minimumCapacity: c.fileSystems.count)
        var devices: [String: Source] = .init(minimumCapacity: c.fileSystems.count)
        for fs in c.fileSystems {
            if fs.directory == "/" {
                errors.append(ConfigError(fs.source, names(.fsDirectory), "/ cannot be a package file system"))
            }
            if let first = mountPoints[fs.directory] {
                errors.append(ConfigError(fs.source, names(.fsDirectory), "\(fs.directory) is mounted twice (first at line \(first.line))"))
            }
            if let first = devices[fs.device] {
                errors.append(ConfigError(fs.source, names(.fsDevice), "\(fs.device) is used twice (first at line \(first.line))"))
            }
            mountPoints[fs.directory] = fs.source
            devices[fs.device] = fs.source
            // An LV of a VG the package does not activate would not be there after a failover.
            let parts = fs.device.split(separator: "/")
            if parts.count == 3, parts[0] == "dev", !c.volumeGroups.isEmpty, vgs[String(parts[1])] == nil,
                !["mapper", "disk", "md"].contains(parts[1]) && !parts[1].hasPrefix("loop")
            {
                errors.append(
                    ConfigError(fs.source, names(.fsDevice), "\(fs.device) is in VG \(parts[1]), which the package does not list"))
            }
        }

        var directoryOfFSID: [String: (String, Source)] = .init(minimumCapacity: c.exports.count)
        var fsidOfDirectory: [String: String] = .init(minimumCapacity: c.exports.count)
        var targets: Set<String> = .init(minimumCapacity: c.exports.count)
        for e in c.exports {
            let target = "\(e.clients):\(e.directory)"
            if !targets.insert(target).inserted {
                errors.append(ConfigError(e.source, names(.export), "\(target) is exported twice"))
            }
            guard !e.fsid.isEmpty else {
                errors.append(
                    ConfigError(
                        e.source, names(.export),
                        "export of \(e.directory) has no fsid: add fsid=N (unique in the package) so that clients keep their file handles after a failover"
                    ))
                continue
            }
            if let (other, at) = directoryOfFSID[e.fsid], other != e.directory {
                errors.append(
                    ConfigError(e.source, names(.export), "fsid=\(e.fsid) of \(e.directory) is already used by \(other) (\(at))"))
            }
            if let fsid = fsidOfDirectory[e.directory], fsid != e.fsid {
                errors.append(ConfigError(e.source, names(.export), "\(e.directory) is exported with fsid=\(fsid) and fsid=\(e.fsid)"))
            }
            directoryOfFSID[e.fsid] = directoryOfFSID[e.fsid] ?? (e.directory, e.source)
            fsidOfDirectory[e.directory] = e.fsid
            if !c.fileSystems.isEmpty && fileSystemOf.containing(e.directory) == nil {
                errors.append(
                    ConfigError(
                        e.source, names(.export),
                        "\(e.directory) is on none of the package's file systems: after a failover it would export another node's local directory"
                    ))
            }
        }

        var seen: [String: Source] = [:]
        for a in c.addresses {
            if let first = seen[a.address] {
                errors.append(ConfigError(a.source, names(.ipAddress), "\(a.address) is listed twice (first at line \(first.line))"))
            }
            seen[a.address] = a.source
            if let subnet = a.subnet, let (net, prefix) = IPAddress.parse(cidr: subnet), let address = IPAddress(a.address) {
                if net.isIPv6 != address.isIPv6 {
                    errors.append(ConfigError(a.source, names(.ipAddress), "\(a.address) and subnet \(subnet) are of different families"))
                } else if let p = prefix ?? a.prefix, !address.sameNetwork(as: net, prefix: p) {
                    errors.append(ConfigError(a.source, names(.ipAddress), "\(a.address) is not in subnet \(subnet)"))
                }
            }
        }

        if c.lockMigration.enabled {
            let dir = c.lockMigration.holdingDirectory
            if dir.isEmpty {
                errors.append(ConfigError(
                    c.sources[.lockMigration] ?? file, names(.holdingDirectory),
                    "lock migration is on but there is no holding directory"))
            } else if fileSystemOf.containing(dir) == nil {
                errors.append(
                    ConfigError(c.lockMigration.source ?? file, names(.holdingDirectory), "\(dir) is on none of the package's file systems: it must move with the package"))
            }
        }
        if c.nfsServer == .ganesha {
            let g = c.ganesha
            // Each message names the attribute and the line it was set on;
            // a default that conflicts is named at the attribute that was set.
            let grace = c.sources[.ganeshaGracePeriod]
            let lease = c.sources[.ganeshaLeaseLifetime]
            if g.gracePeriod < g.leaseLifetime {
                let (at, field) = grace != nil || lease == nil
                    ? (grace ?? file, Field.ganeshaGracePeriod) : (lease!, Field.ganeshaLeaseLifetime)
                errors.append(ConfigError(at, names(field),
                    "the grace period (\(g.gracePeriod) s) is shorter than the lease (\(g.leaseLifetime) s): clients could not reclaim in time"))
            }
            if g.gracePeriod > 180 { errors.append(ConfigError(grace ?? file, names(.ganeshaGracePeriod), "at most 180 s (NFS-Ganesha's limit)")) }
            if g.leaseLifetime < 1 || g.leaseLifetime > 120 {
                errors.append(ConfigError(lease ?? file, names(.ganeshaLeaseLifetime), "1 to 120 s (NFS-Ganesha's limits)"))
            }
            if c.fileSystems.isEmpty {
                errors.append(ConfigError(c.sources[.nfsServer] ?? file, names(.nfsServer), "NFS-Ganesha needs a package file system for its NFSv4 recovery directory"))
            } else if !g.recoveryDirectory.isEmpty && fileSystemOf.containing(g.recoveryDirectory) == nil {
                errors.append(ConfigError(g.source ?? file, names(.ganeshaRecoveryDirectory),
                    "\(g.recoveryDirectory) is on none of the package's file systems: it must move with the package"))
            }
            for e in c.exports {
                if e.clients.contains(where: { "?[]".contains($0) }) {
                    errors.append(ConfigError(e.source, names(.export),
                        "client \(e.clients): NFS-Ganesha takes *, host names, addresses, networks and @netgroups, not ? or [ ] patterns"))
                }
                if let id = Int(e.fsid), !(1...65535).contains(id) {
                    errors.append(ConfigError(e.source, names(.export), "fsid \(e.fsid): NFS-Ganesha's Export_Id is 1 to 65535"))
                } else if Int(e.fsid) == nil {
                    errors.append(ConfigError(e.source, names(.export), "fsid \(e.fsid): NFS-Ganesha needs a number (its Export_Id)"))
                }
            }
        }
        return errors
    }
}

extension PackageConfiguration {
    /// Where NFS-Ganesha keeps its NFSv4 client records for the package.
    public var ganeshaRecoveryDirectory: String {
        if !ganesha.recoveryDirectory.isEmpty { return ganesha.recoveryDirectory }
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
