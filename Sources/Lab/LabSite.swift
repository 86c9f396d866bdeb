import Foundation
import Primitives

public struct LabError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What every lab is built from, made and removed in one place: the
/// product's lab (`hanfs lab`, TwoNodeLab) and the integration tests' labs
/// both use it.
///
/// - disks: loop devices on image files in the lab's directory, with file
///   systems, and LVM metadata seen through a private lvm.conf (activation
///   off where the kernel has no device-mapper);
/// - hosts: each a network namespace joined to the others by a bridge in a
///   namespace of its own (so any number of nodes), and a mount namespace
///   with private tmpfs directories and the lab's /etc/hosts;
/// - daemons, run in a host in the background.
///
/// Everything is named from the directory and the prefix, and the hosts
/// are written to a manifest before anything is made, so `teardown` removes
/// it all from names alone, also after a crash half-way.
public final class LabSite: Sendable {
    public let dir: String
    /// Namespace names are `<prefix>-<host>`.
    public let prefix: String
    /// What host-side commands get (LVM_SYSTEM_DIR, ...).
    public let environment: [String: String]
    let runner = ProcessRunner()

    /// One host of the lab: its network link and address, the directories
    /// its mount namespace makes private (tmpfs), and what it mounts over
    /// them as it boots (its own logs, configuration, extra programs).
    public struct Host: Sendable {
        /// A mount made in the host's mount namespace as it boots, after the private directories.
        public enum Mount: Sendable {
            /// A file or directory of the machine's bound over a path.
            case bind(String, on: String)
            /// A directory's entries shown over a directory's, read-only (an overlay).
            case overlay(String, on: String)
        }
        public let name: String
        public let link: String
        public let address: String
        public let privateDirectories: [String]
        public let mounts: [Mount]
        public init(_ name: String, link: String, address: String, privateDirectories: [String], mounts: [Mount] = []) {
            self.name = name
            self.link = link
            self.address = address
            self.privateDirectories = privateDirectories
            self.mounts = mounts
        }
    }

    public init(dir: String, prefix: String, environment: [String: String] = [:]) {
        self.dir = dir
        self.prefix = prefix
        self.environment = environment
    }

    public var lvmDirectory: String { "\(dir)/lvm" }
    public var hostsFile: String { "\(dir)/hosts" }
    public func netns(_ host: String) -> String { "\(prefix)-\(host)" }
    public func mountNS(_ host: String) -> String { "\(dir)/ns/\(host)" }
    /// The host's UTS namespace: its own host name.
    public func utsNS(_ host: String) -> String { "\(dir)/ns/\(host).uts" }
    var manifest: String { "\(dir)/hosts.list" }
    static let switchHost = "switch"

    // MARK: running things

    /// A command on the host side; an error with its stderr when it fails and `check`.
    @discardableResult
    public func sh(_ argv: [String], timeout: Double = 60, check: Bool = true, environment extra: [String: String] = [:])
        throws -> CommandResult
    {
        let command = Command(argv, timeout: timeout, environment: environment.merging(extra) { _, b in b })
        return check ? try Self.run(command) : try runner.run(command)
    }

    /// A command of the lab's own making (not in a host): its result, or an
    /// error naming it with its stderr when it fails or its output was cut.
    @discardableResult
    public static func run(_ command: Command) throws -> CommandResult {
        let r = try ProcessRunner().run(command)
        guard r.succeeded, !r.truncated else {
            throw LabError("\(Command(command.argv, timeout: command.timeout)) \(r.truncated ? "printed too much" : r.summary): \(r.stderrTail())")
        }
        return r
    }

    /// The argv that runs `argv` in a host's network, mount and UTS namespaces.
    public func inHost(_ host: String, _ argv: [String]) -> [String] {
        ["nsenter", "--net=/run/netns/\(netns(host))", "--mount=\(mountNS(host))", "--uts=\(utsNS(host))"] + argv
    }

    /// A daemon in a host, in the background, its output to `log`.
    public func spawn(_ host: String, _ argv: [String], log: String? = nil, environment extra: [String: String] = [:]) throws {
        _ = try runner.run(Command(
            inHost(host, argv), timeout: 86400, environment: environment.merging(extra) { _, b in b }, background: true,
            logFile: log))
    }

    /// What a command gets in a host, as a service or a login there would:
    /// a clean environment, nothing of the caller's.
    public static let cleanEnvironment = [
        "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
    ]

    // MARK: disks

    /// A loop device on `<dir>/<name>.img`.
    public func loopDevice(_ name: String, megabytes: Int) throws -> String {
        let file = "\(dir)/\(name).img"
        try sh(["truncate", "-s", "\(megabytes)M", file])
        return try sh(["losetup", "-f", "--show", file]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func makeFileSystem(_ device: String, type: String) throws {
        try sh(type == "xfs" ? ["mkfs.xfs", "-q", "-f", device] : ["mkfs.\(type)", "-q", "-F", device])
    }

    /// An lvm.conf that sees only `physicalVolumes`, with LVM's system ID
    /// when given (`systemID`, or where LVM takes it from: `systemIDSource`);
    /// then a VG on each PV. Activation is off, unless asked for where the
    /// kernel has device-mapper (the VM lab): then LVM makes the device
    /// nodes itself, as there is no udev.
    public func volumeGroups(
        _ physicalVolumes: [String: String], systemID: String? = nil, systemIDSource: String? = nil, activation: Bool = false,
        environment extra: [String: String] = [:]
    ) throws {
        try FileManager.default.createDirectory(atPath: lvmDirectory, withIntermediateDirectories: true)
        let filter = physicalVolumes.values.sorted().map { "\"a|^\($0)$|\"" }.joined(separator: ", ")
        var conf = "devices { filter = [ \(filter), \"r|.*|\" ]"
        conf += activation
            ? " obtain_device_list_from_udev = 0 }\nactivation { udev_sync = 0 udev_rules = 0 }\nglobal { activation = 1"
            : " }\nglobal { activation = 0"
        if let systemID {
            conf += "\nsystem_id_source = \"lvmlocal\" }\nlocal { system_id = \"\(systemID)\" }\n"
        } else {
            conf += systemIDSource.map { "\nsystem_id_source = \"\($0)\" }\n" } ?? " }\n"
        }
        try conf.write(toFile: "\(lvmDirectory)/lvm.conf", atomically: true, encoding: .utf8)
        for (vg, pv) in physicalVolumes.sorted(by: { $0.key < $1.key }) {
            try lvm(["pvcreate", "-q", pv], environment: extra)
            try lvm(["vgcreate", "-q", vg, pv], environment: extra)
        }
    }

    /// An LVM command on the host side, with the lab's lvm.conf.
    @discardableResult
    public func lvm(_ argv: [String], check: Bool = true, environment extra: [String: String] = [:]) throws -> CommandResult {
        try sh(argv, check: check, environment: ["LVM_SYSTEM_DIR": lvmDirectory, "LVM_SUPPRESS_FD_WARNINGS": "1"].merging(extra) { _, b in b })
    }

    // MARK: hosts

    /// The hosts: their names in the manifest first, then a bridge in a
    /// namespace of its own with a veth to each host, then each host's mount
    /// namespace with its private directories and the lab's /etc/hosts.
    public func hosts(_ hosts: [Host], names: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(dir)/ns", withIntermediateDirectories: true)
        try (hosts.map(\.name) + [Self.switchHost]).joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        try names.write(toFile: hostsFile, atomically: true, encoding: .utf8)
        let sw = netns(Self.switchHost)
        try sh(["ip", "netns", "add", sw])
        try sh(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"])
        try sh(["ip", "-n", sw, "link", "set", "br0", "up"])
        for (i, host) in hosts.enumerated() {
            let ns = netns(host.name)
            try sh(["ip", "netns", "add", ns])
            try sh(["ip", "-n", sw, "link", "add", "h\(i)", "type", "veth", "peer", "name", "p\(i)"])
            try sh(["ip", "-n", sw, "link", "set", "h\(i)", "netns", ns])
            try sh(["ip", "-n", ns, "link", "set", "h\(i)", "name", host.link])
            try sh(["ip", "-n", sw, "link", "set", "p\(i)", "master", "br0"])
            try sh(["ip", "-n", sw, "link", "set", "p\(i)", "up"])
            for link in ["lo", host.link] { try sh(["ip", "-n", ns, "link", "set", link, "up"]) }
            try sh(["ip", "-n", ns, "addr", "add", host.address, "dev", host.link])
        }
        // Mount namespaces that outlive each command: bound to files on a private mount.
        try sh(["mount", "--bind", "\(dir)/ns", "\(dir)/ns"])
        try sh(["mount", "--make-private", "\(dir)/ns"])
        for host in hosts { try mountNamespace(host) }
    }

    /// A host's mount and UTS namespaces as it boots: its host name, empty
    /// private directories, its own mounts, the lab's /etc/hosts, and the
    /// lab's network namespace handles still in /run/netns (a node's fence
    /// agent finds the other node there, as a real one finds its power switch).
    func mountNamespace(_ host: Host) throws {
        for file in [mountNS(host.name), utsNS(host.name)] { _ = FileManager.default.createFile(atPath: file, contents: nil) }
        try sh(["unshare", "--mount=\(mountNS(host.name))", "--uts=\(utsNS(host.name))", "--propagation", "private",
                "hostname", host.name])
        let handles = "\(dir)/ns/\(host.name).netns"
        try FileManager.default.createDirectory(atPath: handles, withIntermediateDirectories: true)
        try sh(inHost(host.name, ["mount", "--rbind", "/run/netns", handles]))
        for target in host.privateDirectories { try sh(inHost(host.name, ["mount", "-t", "tmpfs", "tmpfs", target])) }
        try sh(inHost(host.name, ["mkdir", "-p", "/run/netns"]))
        try sh(inHost(host.name, ["mount", "--move", handles, "/run/netns"]))
        for mount in host.mounts {
            switch mount {
            case .bind(let source, let target): try sh(inHost(host.name, ["mount", "--bind", source, target]))
            case .overlay(let extra, let target):
                try sh(inHost(host.name, ["mount", "-t", "overlay", "overlay", "-o", "lowerdir=\(extra):\(target)", target]))
            }
        }
        try sh(inHost(host.name, ["mount", "--bind", hostsFile, "/etc/hosts"]))
    }

    // MARK: power

    /// A power loss: the host's links go down and every process in it is
    /// killed at once; what it had mounted stays as a dead machine leaves
    /// its disks (nothing flushed, nothing unmounted).
    public func powerOff(_ host: String) throws {
        for link in try links(host) { try sh(["ip", "-n", netns(host), "link", "set", link, "down"]) }
        // Where the kernel has an NFS server (the VM lab), the host's is its
        // network namespace's nfsd: kernel threads, which no signal ends, and
        // which would go on holding its clients' state and locks. The power
        // takes them too.
        if Self.kernelHasNFSServer { _ = try? sh(inHost(host, ["rpc.nfsd", "0"]), check: false) }
        killAll(in: host)
        // Its TCP connections go too: the network namespace outlives the power
        // off, and a socket nfsd left behind (closed, its FIN never acknowledged)
        // would answer for a connection the client still has when the host boots
        // and takes the package again, as a rebooted node never does. (The link
        // is down: the resets `ss -K` sends go nowhere. Where the kernel cannot
        // destroy sockets, nothing is done.)
        _ = try? sh(inHost(host, ["ss", "-K", "-t", "-a"]), check: false)
    }

    /// Whether this kernel has nfsd.
    static let kernelHasNFSServer = (ProcFile.read("/proc/filesystems") ?? "").split(separator: "\n").contains { $0.hasSuffix("\tnfsd") }

    /// The host boots again: a fresh mount namespace (what was in /run and
    /// the other private directories is gone, as after a reboot), its link
    /// up with its own address alone (what else it had, a package address
    /// among them, went with the power), no neighbour known.
    public func powerOn(_ host: Host) throws {
        killAll(in: host.name)
        for ns in [mountNS(host.name), utsNS(host.name)] { _ = try? sh(["umount", ns], check: false) }
        try mountNamespace(host)
        let ns = netns(host.name)
        try sh(["ip", "-n", ns, "addr", "flush", "dev", host.link])
        // Nor does it remember its neighbours.
        _ = try? sh(["ip", "-n", ns, "neigh", "flush", "all"], check: false)
        try sh(["ip", "-n", ns, "addr", "add", host.address, "dev", host.link])
        for link in try links(host.name) { try sh(["ip", "-n", ns, "link", "set", link, "up"]) }
    }

    private func links(_ host: String) throws -> [String] {
        try sh(["ip", "-n", netns(host), "-o", "link", "show"]).stdoutText.split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces)
            return name.map { String($0.split(separator: "@").first ?? "") }.flatMap { $0 == "lo" || $0.isEmpty ? nil : $0 }
        }
    }

    /// SIGKILL to every process of a host (its network and its mount namespace), until none is left.
    func killAll(in host: String) {
        for _ in 0..<5 {
            let pids = processes(host)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(50_000)
        }
    }

    /// The processes in a host's network or mount namespace.
    func processes(_ host: String) -> Set<Int32> {
        var pids = ProcessTable.inMountNamespace(boundTo: mountNS(host))
        if let r = try? sh(["ip", "netns", "pids", netns(host)], check: false), r.succeeded {
            pids += r.stdoutText.split(separator: "\n").compactMap { Int32($0) }
        }
        return Set(pids)
    }

    /// Whether anything runs in the host: whether it is powered on.
    public func isRunning(_ host: String) -> Bool { !processes(host).isEmpty }

    /// Whether the calling process runs in that host (its network namespace).
    public func isThisHost(_ host: String) -> Bool {
        var mine = stat(), theirs = stat()
        return stat("/proc/self/ns/net", &mine) == 0 && stat("/run/netns/\(netns(host))", &theirs) == 0
            && mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev
    }

    // MARK: teardown

    /// Removes everything a lab in this directory made, whatever state it
    /// is in: what runs in its hosts, their namespaces (and every mount in
    /// them), its loop devices, its files. Returns whether there was one.
    /// `known`: the hosts to look for when there is no manifest.
    @discardableResult
    public func teardown(known: [String] = []) -> Bool {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir) else { return false }
        let listed = ((try? String(contentsOfFile: manifest, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let hosts = listed.isEmpty ? known + [Self.switchHost] : listed
        for host in hosts { killAll(in: host) }
        for host in hosts {
            for ns in [mountNS(host), utsNS(host)] { _ = try? sh(["umount", ns], check: false) }
        }
        _ = try? sh(["umount", "\(dir)/ns"], check: false)
        for host in hosts { _ = try? sh(["ip", "netns", "del", netns(host)], check: false) }
        // Where the kernel activates LVs (the VM lab), they go before their loop devices can.
        if fm.fileExists(atPath: "\(lvmDirectory)/lvm.conf") { _ = try? lvm(["vgchange", "-q", "-a", "n"], check: false) }
        // Every loop device on a file of the lab's, also one whose file is gone (`(deleted)`).
        let attached = (try? sh(["losetup", "-a"], check: false))?.stdoutText ?? ""
        for line in attached.split(separator: "\n") where line.contains("(\(dir)/") {
            guard let dev = line.split(separator: ":").first else { continue }
            // A loop device stays busy for a moment after its last mount goes.
            for _ in 0..<50 {
                if (try? sh(["losetup", "-d", String(dev)], check: false))?.succeeded ?? true { break }
                usleep(100_000)
            }
        }
        try? fm.removeItem(atPath: dir)
        return true
    }
}
