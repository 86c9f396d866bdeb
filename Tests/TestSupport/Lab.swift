import Foundation
import Lab
// A lab that cannot be set up: the two-node lab's own error, one type for both labs.
@_exported import struct Lab.LabError
import PackageConfig
import Primitives
import Synchronization

/// A node for integration tests, built from the product's lab parts
/// (Lab's LabSite) and torn down whatever happens: loop devices as disks,
/// LVM metadata with a private lvm.conf that sees only the lab's devices
/// (activation off: this kernel has no device-mapper), the node and a
/// client as network namespaces on a bridge (192.0.2.0/24), each with a
/// persistent mount namespace (the node's with private /run, /srv and
/// /var/lib/nfs, where the file systems are mounted; the client's with its
/// own /run). hanfs runs inside the node; nothing touches the host's own.
public final class Lab: @unchecked Sendable {
    public let dir: String
    public let id: String
    public let nodeNS: String
    public let clientNS: String
    public let interface: String
    public let nodeName: String
    /// The LVM physical volume (one per VG) and the file system devices.
    public private(set) var physicalVolumes: [String: String] = [:]
    public private(set) var devices: [String] = []
    /// The type of each file system made on `devices`.
    public let types: [String]
    /// Its disks, hosts and namespaces.
    let site: LabSite
    private static let counter = Mutex(0)

    public var lvmDir: String { site.lvmDirectory }
    public var mountNS: String { site.mountNS("node") }
    /// The client's mount namespace.
    public var clientMountNS: String { site.mountNS("client") }
    private var ganeshaStarts = 0
    /// Names both sides resolve: the node, the package, the client.
    public var hostsFile: String { "\(dir)/hosts" }
    public var logDir: String { "\(dir)/log" }

    /// `volumeGroups`: names of the VGs to create (one loop device each);
    /// `fileSystems`: the types of the file systems to make (one loop device each).
    public init(volumeGroups: [String] = ["vglab"], fileSystems: [String] = ["ext4"], nodeName: String = "node1",
                systemID: String? = nil) throws {
        let n = Self.counter.withLock { count in
            if count == 0 { Self.sweepLeftovers() }
            count += 1
            return count
        }
        id = "\(getpid() % 100000)x\(n)"
        dir = "/tmp/hanfs-lab-\(id)"
        site = LabSite(dir: dir, prefix: Self.prefix(id))
        nodeNS = site.netns("node")
        clientNS = site.netns("client")
        interface = "hv\(id)"
        self.nodeName = nodeName
        types = fileSystems
        try FileManager.default.createDirectory(atPath: dir + "/lvm", withIntermediateDirectories: true)
        do {
            try build(volumeGroups: volumeGroups, fileSystems: fileSystems, systemID: systemID)
        } catch {
            teardown()
            throw error
        }
    }

    deinit { teardown() }

    static func prefix(_ id: String) -> String { "hanfs-\(id)" }

    private func build(volumeGroups: [String], fileSystems: [String], systemID: String?) throws {
        for vg in volumeGroups {
            physicalVolumes[vg] = try site.loopDevice("pv-\(vg)", megabytes: 16)
        }
        for (i, type) in fileSystems.enumerated() {
            let dev = try site.loopDevice("fs\(i)", megabytes: type == "xfs" ? 320 : 32)
            devices.append(dev)
            try site.makeFileSystem(dev, type: type)
        }
        try site.volumeGroups(physicalVolumes, systemID: systemID)
        try site.hosts(
            [
                LabSite.Host("node", link: interface, address: "192.0.2.1/24", privateDirectories: ["/run", "/srv", "/var/lib/nfs"]),
                LabSite.Host("client", link: interface + "c", address: "192.0.2.100/24", privateDirectories: ["/run"]),
            ],
            names: "127.0.0.1 localhost\n192.0.2.1 node1\n192.0.2.10 nfspkg\n192.0.2.11 nfspkg2\n192.0.2.100 client1\n")
        // What nfs-kernel-server's package leaves: an empty export table.
        try inNode(["touch", "/var/lib/nfs/etab"])
    }

    /// The environment hanfs and the LVM tools get in the lab.
    public var environment: [String: String] {
        ["LVM_SYSTEM_DIR": lvmDir, "LVM_SUPPRESS_FD_WARNINGS": "1", "HANFS_NODE": nodeName, "HANFS_LOG_DIR": logDir,
         "HANFS_SITE_DIR": "/nonexistent-hanfs-site"]
    }

    /// Runs a command on the host side; fails the test setup if it fails.
    @discardableResult
    public func sh(_ argv: [String], timeout: Double = 60) throws -> Output {
        let out = try output(argv, environment: environment, timeout: timeout)
        guard out.status == 0 else {
            throw LabError("\(argv.joined(separator: " ")) exited with \(out.status): \(out.stderr)")
        }
        return out
    }

    @discardableResult
    public func lvm(_ argv: [String]) throws -> Output { try sh(argv) }

    /// A command inside the node: its network and mount namespaces.
    @discardableResult
    public func inNode(_ argv: [String], check: Bool = true, timeout: Double = 60, input: String? = nil) throws -> Output {
        let out = try output(
            ["nsenter", "--net=/run/netns/\(nodeNS)", "--mount=\(mountNS)"] + argv, environment: environment, timeout: timeout,
            input: input)
        if check && out.status != 0 {
            throw LabError("in node: \(argv.joined(separator: " ")) exited with \(out.status): \(out.stderr)")
        }
        return out
    }

    /// A command in the client's network namespace.
    @discardableResult
    public func inClient(_ argv: [String], check: Bool = true) throws -> Output {
        let out = try output(["ip", "netns", "exec", clientNS] + argv, environment: environment)
        if check && out.status != 0 { throw LabError("in client: \(argv.joined(separator: " ")): \(out.stderr)") }
        return out
    }

    /// The node's status monitor as nfs-common leaves it (/var/lib/nfs with
    /// sm/ and sm.bak/, owned by statd); with `rpcbind` the node's rpcbind,
    /// with `statd` a plain rpc.statd too.
    public func prepareNodeStatusMonitor(rpcbind: Bool = true, statd: Bool = false) throws {
        try inNode(["mkdir", "-p", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        try inNode(["chown", "statd", "/var/lib/nfs", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        if rpcbind { try inNode(["rpcbind", "-w"]) }
        if statd { try inNode(["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"]) }
    }

    /// An NFS server in the node, NFS-Ganesha (the kernel here has none),
    /// serving `exports` (NFSv3 with NLM, and NFSv4), up once it is
    /// registered with rpcbind; rpcbind and rpc.statd must run. Returns the
    /// file it logs to.
    @discardableResult
    public func startGanesha(exports: [String]) throws -> String {
        // The configuration hanfs's own Ganesha backend writes, for a package of these exports.
        var package = PackageConfiguration()
        package.name = "lab"
        package.file = "the test lab"
        package.ganesha.gracePeriod = 5
        package.ganesha.leaseLifetime = 5
        package.ganesha.recoveryDirectory = "/var/lib/nfs/ganesha"
        let list = exports.enumerated().map { i, path in
            Export(directory: path, clients: "*", options: ["rw", "no_root_squash"], fsid: FSID(i + 1), source: Source(file: "", line: 0))
        }
        try Ganesha.render(package, list).write(toFile: "\(dir)/ganesha.conf", atomically: true, encoding: .utf8)
        try inNode(["mkdir", "-p", "/var/lib/nfs/ganesha"])
        var log = ""
        // A second try when the first dies early (one killed just before may still hold its port).
        for _ in 0..<2 {
            ganeshaStarts += 1
            log = "\(dir)/ganesha-\(ganeshaStarts).log"
            try inNode(["ganesha.nfsd", "-f", "\(dir)/ganesha.conf", "-L", log, "-p", "/run/ganesha.pid", "-N", "NIV_EVENT"])
            // Up once it says so (it has registered by then; an earlier one killed may still be registered).
            for _ in 0..<200 {
                if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("NFS SERVER INITIALIZED") { return log }
                usleep(50_000)
                if processInNode(named: "ganesha.nfsd") == nil { break }
            }
            usleep(500_000)
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw LabError("NFS-Ganesha did not start: \(text.split(separator: "\n").suffix(15).joined(separator: "\n"))")
    }

    /// A D-Bus system bus in the node (its socket in the node's own /run).
    public func startSystemBus() throws {
        try inNode(["mkdir", "-p", "/run/dbus"])
        try inNode(["dbus-daemon", "--system", "--fork"])
    }

    /// The pid of a process of the node by its name (/proc/<pid>/comm).
    public func processInNode(named name: String) -> Int32? {
        processesInNode().first { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) == name + "\n" }
    }

    /// The client's own status monitor: rpcbind and rpc.statd (named
    /// `name`) in the client's network namespace and a mount namespace of
    /// its own (its own /run and /etc/hosts). Returns the file statd logs to.
    public func startClientStatd(name: String = "client1") throws -> String {
        let state = "\(dir)/client-statd"
        for sub in ["", "/sm", "/sm.bak"] {
            try FileManager.default.createDirectory(atPath: state + sub, withIntermediateDirectories: true)
            try sh(["chown", "statd", state + sub])
        }
        let log = "\(dir)/client-statd.log"
        try inClientNamespaces(["rpcbind", "-w"])
        _ = try ProcessRunner().run(
            Command(
                ["nsenter", "--net=/run/netns/\(clientNS)", "--mount=\(clientMountNS)", "sh", "-c",
                 "exec rpc.statd -F -d -P \"$1\" -n \"$2\" 2>\"$3\"", "statd", state, name, log],
                timeout: 600, environment: environment, background: true))
        // Up once it is registered with rpcbind.
        for _ in 0..<50 {
            if try inClientNamespaces(["rpcinfo", "-p"], check: false).stdout.contains("status") { return log }
            usleep(100_000)
        }
        throw LabError("the client's rpc.statd did not register: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    @discardableResult
    public func inClientNamespaces(_ argv: [String], check: Bool = true) throws -> Output {
        let out = try output(["nsenter", "--net=/run/netns/\(clientNS)", "--mount=\(clientMountNS)"] + argv, environment: environment)
        if check && out.status != 0 { throw LabError("in client: \(argv.joined(separator: " ")): \(out.stderr)") }
        return out
    }

    /// hanfs inside the node.
    @discardableResult
    public func hanfs(_ arguments: [String], timeout: Double = 60) throws -> Output {
        try inNode([hanfsBinary] + arguments, check: false, timeout: timeout)
    }

    /// Starts a process inside the node that runs until the lab goes (or it is killed).
    public func spawnInNode(_ argv: [String]) throws {
        _ = try ProcessRunner().run(
            Command(["nsenter", "--net=/run/netns/\(nodeNS)", "--mount=\(mountNS)"] + argv, timeout: 600,
                    environment: environment, background: true))
    }

    // MARK: what the node looks like

    public func tags(_ vg: String) throws -> [String] {
        try sh(["vgs", "--foreign", "--noheadings", "-o", "vg_tags", vg]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",").map(String.init)
    }

    public func mountPoints() throws -> [String] {
        try inNode(["cat", "/proc/self/mountinfo"]).stdout.split(separator: "\n").compactMap {
            let f = $0.split(separator: " ")
            return f.count > 4 && f[4].hasPrefix("/srv/") ? String(f[4]) : nil
        }
    }

    public func exportTable() throws -> String { try inNode(["cat", "/var/lib/nfs/etab"]).stdout }

    public func addresses() throws -> String { try sh(["ip", "-n", nodeNS, "-o", "addr", "show", "dev", interface]).stdout }

    /// The processes living in the lab's (node's) mount namespace.
    public func processesInNode() -> [Int32] { processes(inMountNamespace: mountNS) }

    /// The node's processes with this command line (arguments joined by
    /// spaces): another test's lab, running the same command, is not counted.
    public func processesInNode(withCommandLine line: String) -> [Int32] {
        usleep(50_000)
        return processesInNode().filter { commandLine(of: $0) == line }
    }

    func processes(inMountNamespace file: String) -> [Int32] { ProcessTable.inMountNamespace(boundTo: file) }

    /// Kills what runs in the node, drops the namespaces (and with the mount
    /// namespace every mount in it), detaches the loop devices, removes the files.
    /// What labs of test processes that are gone left behind: a test that
    /// crashed (a Swift trap ends the whole process) never ran its teardown,
    /// and its namespaces, loop devices and mounts would break the next run.
    /// Each lab's names carry its process's pid; a lab whose process is gone is removed.
    public static func sweepLeftovers() {
        sweepLock.lock()
        defer { sweepLock.unlock() }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for name in names {
            var pid: Int32?
            if name.hasPrefix("hanfs-lab-"), let x = name.dropFirst("hanfs-lab-".count).firstIndex(of: "x") {
                pid = Int32(name.dropFirst("hanfs-lab-".count)[..<x])
            } else if name.hasPrefix("hanfs-e2e-") || name.hasPrefix("hanfs-vm-") {
                pid = Int32(name.split(separator: "-").last ?? "")
            }
            guard let pid, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let dir = "/tmp/\(name)"
            if name.hasPrefix("hanfs-e2e-") {
                TwoNodeLab(dir: dir, hanfs: hanfsBinary).down(log: { _ in })
            } else if name.hasPrefix("hanfs-vm-") {
                // A VM's qemu runs on (daemonized) after its test process is gone.
                VirtualMachine.powerOff(dir: dir)
            } else {
                LabSite(dir: dir, prefix: prefix(String(name.dropFirst("hanfs-lab-".count)))).teardown(known: ["node", "client"])
            }
        }
    }

    /// Held while leftovers are swept, and by a test while it makes some: a
    /// sweep must not meet a lab half made.
    public static let sweepLock = NSLock()

    /// Kills what runs in the node and the client, drops the namespaces
    /// (and with the mount namespaces every mount in them), detaches the
    /// loop devices, removes the files.
    public func teardown() { site.teardown(known: ["node", "client"]) }
}

/// Whether the integration tests can run: they need root.
public var isRoot: Bool { getuid() == 0 }

extension Lab {
    /// How many cycles the package's monitor has logged (its `checks:` records).
    public func monitorCycles(_ package: String = "labpkg") -> Int {
        PackageEvents.read("\(logDir)/\(package).log.jsonl").filter {
            $0["action"] as? String == "monitor" && ($0["message"] as? String)?.hasPrefix("checks: ") == true
        }.count
    }

    /// Waits until the monitor has run `count` more cycles than `since`; false after `timeout` s.
    @discardableResult
    public func waitForMonitorCycles(_ count: Int, since: Int, timeout: Double = 10) -> Bool {
        eventually(timeout: timeout) { monitorCycles() >= since + count ? true : nil } ?? false
    }
}
