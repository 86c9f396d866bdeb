import Foundation
import PackageConfig
import Primitives

/// Who decides where the lab's package runs.
public enum ClusterManager: String, Sendable, CaseIterable {
    /// A real Corosync + Pacemaker cluster of the two nodes, with fencing (PacemakerCluster).
    case pacemaker
    /// None: `hanfs lab` itself does what a cluster manager would (stop,
    /// start, start --takeover once it has powered the dead node off).
    case none
}

/// Which NFS server the lab's package runs.
public enum LabServer: String, Sendable, CaseIterable {
    /// NFS-Ganesha, started by the package: it runs on any kernel.
    case ganesha
    /// The kernel's nfsd, started by the package (`kernel.manage`), with real
    /// LVM activation through device-mapper, and the client's kernel NFS
    /// mounts: where the kernel has them, in the VM lab (`hanfs lab up --kernel`).
    case kernel
}

/// Two cluster nodes and a client on one machine, for trying a failover the
/// way a user sees it (`hanfs lab up|failover|crash|status|down`).
///
/// Each host is a network namespace with mount and UTS namespaces of its
/// own (its host name; private /run, /var/lib/nfs and /srv; its own /var/log,
/// /etc/hosts and /etc/lvm), joined by a bridge that lives in a namespace of
/// its own: nothing of the machine's own network is touched, and
/// 192.0.2.0/24 exists only inside. The shared disk is a loop device both
/// nodes mount (its LVM metadata, on a second one, is the volume group the
/// package takes by host tag). Each node runs its own rpcbind and
/// rpc.statd, and, under Pacemaker, corosync and pacemakerd; the package
/// brings NFS-Ganesha. The client runs rpcbind and rpc.statd too, and
/// reads and writes with libnfs's tools.
///
/// Everything it makes is named from fixed names, so `down` removes it also
/// after a crash half-way, with no state to trust.
public final class TwoNodeLab: Sendable {
    public let dir: String
    public let hanfs: String
    /// The grace period and lease asked for (`--grace`).
    let requestedGrace: Int
    /// The kernel lab: lockd's grace period asked for (`--nlm-grace`); nil: the grace period.
    let requestedNLMGrace: Int?
    /// The kernel lab: how the package owns its volume group (`--vg-ownership`).
    let requestedOwnership: VGOwnership
    public static let nodes = ["node1", "node2"]
    public static let package = "nfspkg"
    public static let address = "192.0.2.10"
    static let hosts = ["node1": "192.0.2.1", "node2": "192.0.2.2", "client": "192.0.2.100", "client2": "192.0.2.101"]
    /// The kernel lab's second client: one that dies (see `strandClient`).
    static let secondClient = "client2"
    public static let defaultDirectory = "/var/tmp/hanfs-lab"
    /// Its namespaces' names start with this: `hanfs-lab` for the default
    /// directory, another for each other one, so that two labs do not meet.
    let prefix: String
    /// Its disks, hosts and namespaces.
    public let site: LabSite

    /// `dir`: where its files go ($HANFS_LAB_DIR, default /var/tmp/hanfs-lab).
    public init(dir: String? = nil, hanfs: String, grace: Int = 5, nlmGrace: Int? = nil, vgOwnership: VGOwnership = .tags) {
        let dir = dir ?? ProcessInfo.processInfo.environment["HANFS_LAB_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.defaultDirectory
        self.dir = dir
        // FNV-1a of the directory: short, and the same for every run.
        var hash: UInt32 = 2_166_136_261
        for byte in dir.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        prefix = dir == Self.defaultDirectory ? "hanfs-lab" : "hanfs-lab-" + String(hash, radix: 16)
        self.hanfs = hanfs
        requestedGrace = grace
        requestedNLMGrace = nlmGrace
        requestedOwnership = vgOwnership
        site = LabSite(dir: dir, prefix: prefix)
    }

    public var config: String { "\(dir)/\(Self.package).lua" }
    public var clientStatdLog: String { "\(dir)/client-statd.log" }
    public var exportURL: String { "nfs://\(Self.address)/srv/nfs/share" }
    /// What each fencing did, one line each.
    public var fenceLog: String { "\(dir)/fence.log" }
    /// A node's /var/log (it outlives the node's crashes): hanfs's logs are in `hanfs/`.
    public func logDirectory(_ node: String) -> String { "\(dir)/log/\(node)" }
    public func netns(_ host: String) -> String { site.netns(host) }
    public var isUp: Bool { FileManager.default.fileExists(atPath: "\(dir)/up") }

    /// The package's grace period and lease: as `up` was asked (the other
    /// commands' --grace does not change a package that runs), and at least
    /// the kernel's minimum for its server.
    public var grace: Int {
        let asked = (try? String(contentsOfFile: "\(dir)/grace", encoding: .utf8)).flatMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        } ?? requestedGrace
        return server == .kernel ? max(10, asked) : asked
    }

    /// The kernel lab's lockd grace period, as `up` was asked; nil: the grace period.
    public var nlmGrace: Int? {
        (try? String(contentsOfFile: "\(dir)/nlm-grace", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// How the package owns its volume group, as `up` was told: by host tag,
    /// or (the kernel lab) by LVM system ID, each node's its host name.
    public var vgOwnership: VGOwnership {
        (try? String(contentsOfFile: "\(dir)/vg-ownership", encoding: .utf8)).flatMap {
            VGOwnership(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines))
        } ?? .tags
    }

    /// Which NFS server the package runs, as `up` was told.
    public var server: LabServer {
        ((try? String(contentsOfFile: "\(dir)/server", encoding: .utf8)).flatMap {
            LabServer(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines))
        }) ?? .ganesha
    }

    /// Who decides where the package runs, as `up` was told.
    public var manager: ClusterManager {
        ((try? String(contentsOfFile: "\(dir)/manager", encoding: .utf8)).flatMap {
            ClusterManager(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines))
        }) ?? .pacemaker
    }

    /// The cluster of the two nodes (under Pacemaker).
    public var cluster: PacemakerCluster {
        PacemakerCluster(
            dir: "\(dir)/cluster", nodes: Self.hosts.filter { Self.nodes.contains($0.key) }, resource: Self.package,
            config: config)
    }

    // MARK: running things

    @discardableResult
    func sh(_ argv: [String], timeout: Double = 60, check: Bool = true) throws -> CommandResult {
        try site.sh(argv, timeout: timeout, check: check)
    }

    /// A command in a host (its network, mount and UTS namespaces), with a
    /// login's clean environment: hanfs there finds its node name, its LVM
    /// configuration and its log directory where a real node has them.
    @discardableResult
    public func on(_ host: String, _ argv: [String], timeout: Double = 60, check: Bool = true) throws -> CommandResult {
        try sh(site.inHost(host, LabSite.cleanEnvironment + argv), timeout: timeout, check: check)
    }

    /// A daemon in a host, in the background, its output to `log`.
    func spawn(_ host: String, _ argv: [String], log: String) throws {
        try site.spawn(host, LabSite.cleanEnvironment + argv, log: log)
    }

    /// `hanfs start|stop|status` of the package on a node.
    @discardableResult
    public func hanfs(_ node: String, _ action: String, check: Bool = true) throws -> CommandResult {
        try on(node, [hanfs, action, "--config", config], timeout: 600, check: check)
    }

    // MARK: up

    /// Builds the lab and starts the package on node1: by Pacemaker, or by `hanfs start`.
    public func up(manager: ClusterManager = .pacemaker, server: LabServer = .ganesha, log: (String) -> Void) throws {
        if isUp { throw LabError("the lab is up already (\(dir)): hanfs lab down first") }
        down(log: { _ in })
        try removingOnFailure(log: log) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try server.rawValue.write(toFile: "\(dir)/server", atomically: true, encoding: .utf8)
            try String(requestedGrace).write(toFile: "\(dir)/grace", atomically: true, encoding: .utf8)
            if let n = requestedNLMGrace { try String(n).write(toFile: "\(dir)/nlm-grace", atomically: true, encoding: .utf8) }
            guard requestedOwnership == .tags || server == .kernel else {
                throw LabError("--vg-ownership system_id: only in the kernel lab, where LVM activates")
            }
            try requestedOwnership.rawValue.write(toFile: "\(dir)/vg-ownership", atomically: true, encoding: .utf8)
            try build(manager, log: log)
        }
    }

    /// Builds with `body`; when it fails, removes what was made, unless
    /// HANFS_LAB_KEEP=1 asks to leave it to be looked at (hanfs lab exec, hanfs lab down).
    func removingOnFailure(log: (String) -> Void, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            if ProcessInfo.processInfo.environment["HANFS_LAB_KEEP"] == "1" {
                log("building the lab failed: \(error); kept as it is (HANFS_LAB_KEEP=1)")
            } else {
                log("building the lab failed: \(error); removing what was made")
                down(log: { _ in })
            }
            throw error
        }
    }

    func build(_ manager: ClusterManager, log: (String) -> Void) throws {
        for sub in ["log/node1", "log/node2", "client-statd/sm", "client-statd/sm.bak"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
        }
        try manager.rawValue.write(toFile: "\(dir)/manager", atomically: true, encoding: .utf8)
        try sh(["chown", "-R", "statd", "\(dir)/client-statd"])
        let disk = try sharedDisk(log: log)
        if manager == .pacemaker { try cluster.prepare(hanfs: hanfs, labDirectory: dir) }

        try site.hosts(
            (["node1", "node2", "client"] + (server == .kernel ? [Self.secondClient] : [])).map(layout),
            names: "127.0.0.1 localhost\n192.0.2.1 node1\n192.0.2.2 node2\n192.0.2.10 \(Self.package)\n192.0.2.100 client1\n192.0.2.101 client2\n")
        log("network: node1 192.0.2.1, node2 192.0.2.2, client 192.0.2.100 on a bridge; package address \(Self.address)")
        if server == .kernel { try site.powerOff(Self.secondClient) }

        try startDaemons()
        log("daemons: rpcbind and rpc.statd on each host" + (server == .kernel ? "; rpc_pipefs and the nfsd file system on each node" : ""))
        try prepareStorage(disk)
        if server == .kernel { try site.lvm(["vgchange", "-q", "-a", "n", "vglab"]) }
        // Made with this machine's system ID (its host name): left with none, for node1's start to take.
        if vgOwnership == .systemID { try site.lvm(["vgchange", "-q", "-y", "--systemid", "", "vglab"]) }
        try writePackage(disk)
        _ = FileManager.default.createFile(atPath: "\(dir)/up", contents: nil)
        log("package file: \(config)")
        switch manager {
        case .none:
            let start = try hanfs("node1", "start", check: false)
            guard start.succeeded else { throw LabError("start on node1 failed: \(start.failureReason)") }
            log("package \(Self.package) started on node1 in \(CommandResult.seconds(start.duration))")
        case .pacemaker:
            let t0 = Monotonic.now()
            for node in Self.nodes { try cluster.boot(node, in: site) }
            try cluster.wait("the cluster to form", from: "node1", in: site, within: 90) { $0.online.count == 2 && $0.hasDC }
            let formed = Monotonic.now()
            log("cluster: corosync and pacemaker on node1 and node2, both online \(CommandResult.seconds(formed - t0)) after they booted "
                + "(fencing: \(LabFenceAgent.name) for each node)")
            let s = try cluster.wait("\(Self.package) to start", from: "node1", in: site, within: 90) {
                $0.role == "Started" && !$0.failed && $0.runningOn.count == 1
            }
            log("package \(Self.package) started on \(s.runningOn[0]) by Pacemaker (ocf:hanfs:package), "
                + "\(CommandResult.seconds(Monotonic.now() - formed)) after the cluster formed")
        }
        if server == .kernel { try mountClient(log: log) }
    }

    /// The shared disk; returns the package's device.
    ///
    /// - NFS-Ganesha's lab: LVM metadata on one loop device (a volume group
    ///   the package takes by host tag, activation off: this kernel has no
    ///   device-mapper) and the file system on another.
    /// - The kernel's lab (in the VM): one loop device, a volume group with
    ///   a logical volume activated through device-mapper, left inactive
    ///   and untagged for the package to take.
    func sharedDisk(log: (String) -> Void) throws -> String {
        guard server == .kernel else {
            let pv = try site.loopDevice("pv", megabytes: 16)
            let disk = try site.loopDevice("disk", megabytes: 64)
            try site.makeFileSystem(disk, type: "ext4")
            try site.volumeGroups(["vglab": pv])
            log("shared disk: \(disk) (ext4), volume group vglab on \(pv)")
            return disk
        }
        let pv = try site.loopDevice("pv", megabytes: 160)
        let bySystemID = vgOwnership == .systemID
        // By system ID: each node's is its host name (its UTS namespace's), and the VG starts with none.
        try site.volumeGroups(["vglab": pv], systemIDSource: bySystemID ? "uname" : nil, activation: true)
        let lv = "/dev/vglab/share"
        try site.lvm(["lvcreate", "-q", "-n", "share", "-L", "96M", "vglab"])
        try site.makeFileSystem(lv, type: "ext4")
        log("shared disk: \(pv), volume group vglab with the logical volume \(lv) (ext4) through device-mapper"
            + (bySystemID ? ", owned by LVM system ID (each node's its host name)" : ""))
        return lv
    }

    /// A host of the lab: its link, address, private directories and mounts.
    func layout(_ host: String) -> LabSite.Host {
        let address = "\(Self.hosts[host]!)/24"
        guard host != "client" && host != Self.secondClient else {
            // The kernel's client mounts the export on its own /mnt.
            return LabSite.Host(host, link: "lab0", address: address, privateDirectories: ["/run"] + (server == .kernel ? ["/mnt"] : []))
        }
        let clustered = manager == .pacemaker
        return LabSite.Host(
            host, link: "lab0", address: address,
            privateDirectories: ["/run", "/var/lib/nfs", "/srv"] + (clustered ? PacemakerCluster.privateDirectories : []),
            mounts: [.bind(logDirectory(host), on: "/var/log"), .bind(site.lvmDirectory, on: "/etc/lvm")]
                + (clustered ? cluster.mounts : []))
    }

    /// Each node's own rpcbind and rpc.statd, as nfs-common leaves them; the
    /// client's rpcbind, and a statd named client1 whose log shows the crash notifications.
    func startDaemons() throws {
        for node in Self.nodes { try bootNFS(node) }
        try on("client", ["rpcbind", "-w"])
        try spawn("client", ["rpc.statd", "-F", "-d", "-n", "client1", "-P", "\(dir)/client-statd"], log: clientStatdLog)
    }

    // MARK: power

    /// A power loss of a node: its link down, every process in it killed,
    /// its disks left as they were (what its fence device does too).
    public func powerOff(_ node: String) throws { try site.powerOff(node) }

    /// The node boots: fresh private directories, its link up, its daemons
    /// started (under Pacemaker it then joins the cluster on its own).
    public func powerOn(_ node: String) throws {
        try site.powerOn(layout(node))
        try bootDaemons(node)
    }

    /// What a node's boot starts: for NFS, rpcbind and rpc.statd; then the cluster's daemons.
    func bootDaemons(_ node: String) throws {
        try bootNFS(node)
        if manager == .pacemaker { try cluster.boot(node, in: site) }
    }

    func bootNFS(_ node: String) throws {
        if server == .kernel {
            // What nfs-common and the nfsd module's mount unit give a node: the kernel server's
            // control files and the upcall pipes, of this node's network namespace.
            try on(node, ["mkdir", "-p", "/var/lib/nfs/rpc_pipefs"])
            try on(node, ["mount", "-t", "rpc_pipefs", "rpc_pipefs", "/var/lib/nfs/rpc_pipefs"])
            try on(node, ["mount", "-t", "nfsd", "nfsd", "/proc/fs/nfsd"])
        }
        try on(node, ["mkdir", "-p", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        try on(node, ["chown", "statd", "/var/lib/nfs", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        try on(node, ["touch", "/var/lib/nfs/etab"])
        try on(node, ["rpcbind", "-w"])
        try on(node, ["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
    }

    /// What the package finds on its storage: a file to read, the holding directory.
    func prepareStorage(_ disk: String) throws {
        try on("node1", ["mkdir", "-p", "/mnt/prep"])
        try on("node1", ["mount", disk, "/mnt/prep"])
        try on("node1", ["mkdir", "/mnt/prep/.flm"])
        try on("node1", ["chown", "statd", "/mnt/prep/.flm"])
        try "hello from the lab\n".write(toFile: "\(dir)/hello.txt", atomically: true, encoding: .utf8)
        try on("node1", ["cp", "\(dir)/hello.txt", "/mnt/prep/hello.txt"])
        try on("node1", ["umount", "/mnt/prep"])
    }

    func writePackage(_ disk: String) throws {
        let serverSettings = server == .kernel
            ? "nfs_server = \"kernel\",\n          kernel = { manage = true, threads = 8, grace_time = \(grace), lease_time = \(grace)"
                + (nlmGrace.map { ", nlm_grace_time = \($0)" } ?? "") + " },"
            : "nfs_server = \"ganesha\",\n          ganesha = { grace_period = \(grace), lease_lifetime = \(grace) },"
        let serverName = server == .kernel ? "the kernel's nfsd" : "NFS-Ganesha"
        // The lab's own RPC client and libnfs's tools use ports above 1023, which the kernel refuses unless `insecure`.
        let exportOptions = "rw,no_root_squash,no_subtree_check" + (server == .kernel ? ",insecure" : "")
        let ownership = vgOwnership == .systemID ? "vg_ownership = \"system_id\", " : ""
        try """
            -- The lab's package: \(serverName) serving one export, one package address,
            -- NFSv3 lock migration on. `hanfs lab` wrote it; it goes with `hanfs lab down`.
            package { name = "\(Self.package)", dad_timeout = 0.2, \(ownership)\(serverSettings)
                      lock_migration = { enabled = true, holding_dir = "/srv/nfs/share/.flm",
                                         sm_dir = "/var/lib/nfs/sm", notify_retry_minutes = 1 } }
            vg "vglab"
            filesystem { device = "\(disk)", directory = "/srv/nfs/share", type = "ext4" }
            export { directory = "/srv/nfs/share", clients = "192.0.2.0/24", options = "\(exportOptions)", fsid = 101 }
            address { address = "\(Self.address)/24", interface = "lab0" }

            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    // MARK: where the package is

    /// The node whose runtime marker says the package is started there.
    public func runningOn() -> String? { Self.nodes.first(where: isStarted) }

    /// Whether the package's runtime marker is on the node (a crashed node's went with its /run).
    public func isStarted(on node: String) -> Bool {
        (try? on(node, ["test", "-e", "/run/hanfs/\(Self.package).started"], check: false))?.succeeded ?? false
    }

    /// How many times the fence agent has powered `node` off.
    public func fencings(of node: String) -> Int {
        ((try? String(contentsOfFile: fenceLog, encoding: .utf8)) ?? "").split(separator: "\n").filter {
            $0.contains(" off \(node): done") || $0.contains(" reboot \(node): done")
        }.count
    }

    // MARK: down

    /// Removes everything the lab made, whatever state it is in.
    public func down(log: (String) -> Void) {
        // The kernel NFS lab's VM: its lab goes with it (the guest's disks are its memory).
        let vm = VMLab.exists(in: dir)
        if vm { VirtualMachine.powerOff(dir: VMLab.vmDirectory(dir)) }
        if site.teardown(known: ["node1", "node2", "client", Self.secondClient]) { log("removed the lab (\(dir))" + (vm ? ": its VM is off" : "")) }
    }
}
