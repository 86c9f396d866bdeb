import Foundation

/// One NFS package, whatever file format it was read from: what start
/// brings up on a node and stop takes down, in this order.
public struct PackageConfiguration: Sendable, Equatable {
    public var name = ""
    /// The file it was read from.
    public var file = ""
    public var volumeGroups: [VolumeGroup] = []
    public var fileSystems: [FileSystem] = []
    public var exports: [Export] = []
    public var addresses: [PackageAddress] = []

    /// How a VG is kept to one node: LVM host tags, or LVM's system ID.
    public var vgOwnership: VGOwnership = .tags
    /// Times a failed activation and deactivation are tried again
    /// (ACTIVATION_RETRY_COUNT, deactivation_retry_count).
    public var vgActivationRetries = 0
    public var vgDeactivationRetries = 2
    /// How many fsck and mount/umount run at once (Serviceguard's
    /// concurrent_fsck_operations, concurrent_mount_and_umount_operations).
    /// When file systems are checked before they are mounted.
    public var fsckPolicy: FsckPolicy = .auto
    public var fsckConcurrency = 1
    public var mountConcurrency = 1
    /// Extra attempts when a mount point is busy (fs_mount_retry_count), and
    /// when an unmount fails after the escalation (fs_umount_retry_count).
    public var mountRetries = 0
    public var umountRetries = 1
    public var timeouts = StepTimeouts()
    /// Gratuitous ARP after adding an address: how many, how far apart.
    public var arpCount = 5
    public var arpInterval = 0.2
    /// Seconds to wait for an answer to the duplicate address probe; 0: no probe.
    public var dadTimeout = 0.5
    /// The clients' connections recorded, and prompted to reconnect after a takeover.
    public var reconnectClients = true
    /// The package's own log; empty: /var/log/hanfs/<name>.log.
    public var logFile = ""
    /// Its events also to syslog, under this facility and identity.
    public var syslog = true
    public var syslogFacility = "daemon"
    public var syslogIdentity = "hanfs"
    /// A Lua file of the site's hooks for this package (stdlib/plan.lua),
    /// loaded before every script after site.lua; empty: none.
    public var hooksFile = ""
    /// The toolkit's package directory (TKIT_DIR): its nfs.debug is the maintenance file.
    public var toolkitDirectory = ""
    /// The toolkit's NFSv4 holding directory: the server's recovery directory unless that is given.
    public var nfsv4HoldingDirectory = ""

    public var lockMigration = LockMigration()
    public var monitor = MonitorSettings()
    /// Which NFS server serves the exports: the kernel's (exportfs), or
    /// NFS-Ganesha run for the package.
    public var nfsServer: NFSServer = .kernel
    public var ganesha = GaneshaSettings()
    /// The kernel NFS server, where the package runs it.
    public var kernel = KernelServerSettings()
    /// Where each part was declared: what messages name.
    public var source: Source = .init(file: "", line: 0)
    /// Where each package-wide attribute was set, by field.
    public var sources: [Field: Source] = [:]

    public init() {}
}

extension PackageConfiguration {
    /// The package log: the file's log_file, else <logDirectory>/<name>.log.
    public func logPath(in logDirectory: String) -> String {
        logFile.isEmpty ? "\(logDirectory)/\(name).log" : logFile
    }

    /// NFS-Ganesha's log, beside the package log.
    public func ganeshaLogPath(in logDirectory: String) -> String {
        let log = logPath(in: logDirectory)
        return (log.hasSuffix(".log") ? String(log.dropLast(4)) : log) + ".ganesha.log"
    }
}

/// A place in a configuration file.
public struct Source: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// When fsck runs (Pacemaker's run_fsck): `auto` skips file systems that
/// keep a journal (mounting replays it), unless the file system has fsck
/// options of its own; `force` checks every one; `no` none.
public enum FsckPolicy: String, Sendable, Equatable, CaseIterable {
    case auto, force, no

    /// Types whose journal makes a check at mount time unneeded.
    public static let journaled: Set<String> = ["ext3", "ext4", "xfs", "btrfs", "jfs", "reiserfs", "f2fs"]

    public func checks(_ fs: FileSystem) -> Bool {
        switch self {
        case .force: return true
        case .no: return false
        case .auto: return !fs.fsckOptions.isEmpty || !Self.journaled.contains(fs.type)
        }
    }
}

public enum VGOwnership: String, Sendable, Equatable, CaseIterable {
    case tags
    case systemID = "system_id"
}

public struct VolumeGroup: Sendable, Equatable {
    public var name: String
    public var source: Source
    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }
}

public struct FileSystem: Sendable, Equatable {
    /// The block device (an LV such as /dev/vg01/lvol1, or any device path).
    public var device: String
    /// The mount point, absolute.
    public var directory: String
    /// ext4, xfs, ...; empty lets mount decide.
    public var type: String
    /// Words given to mount before the device, e.g. ["-o", "rw,noatime"].
    public var mountOptions: [String]
    /// Words given to umount, e.g. ["-l"]; usually none.
    public var umountOptions: [String]
    /// Words given to fsck, e.g. ["-y"]; default ["-p"] (preen).
    public var fsckOptions: [String]
    public var source: Source

    public init(
        device: String, directory: String, type: String = "", mountOptions: [String] = [],
        umountOptions: [String] = [], fsckOptions: [String] = [], source: Source
    ) {
        self.device = device
        self.directory = directory
        self.type = type
        self.mountOptions = mountOptions
        self.umountOptions = umountOptions
        self.fsckOptions = fsckOptions
        self.source = source
    }
}

/// One directory exported to one client spec, with exportfs options.
public struct Export: Sendable, Equatable {
    public var directory: String
    /// An exportfs client spec: `*`, a host, `192.0.2.0/24`, `@netgroup`.
    public var clients: String
    /// The options without fsid, in the order given (e.g. ["rw", "sync"]).
    public var options: [String]
    /// Mandatory and unique in the package: clients keep their file handles
    /// across a failover only if it is the same on every node. Nil: not
    /// given (validation says so).
    public var fsid: FSID?
    public var source: Source

    public init(directory: String, clients: String, options: [String], fsid: FSID?, source: Source) {
        self.directory = directory
        self.clients = clients
        self.options = options
        self.fsid = fsid
        self.source = source
    }

    /// The full option string for exportfs -o, fsid included.
    public var optionString: String { (options + (fsid.map { ["fsid=\($0)"] } ?? [])).joined(separator: ",") }
}

/// A relocatable package address.
public struct PackageAddress: Sendable, Equatable {
    public var address: IPAddress
    /// The prefix length; nil: taken from the subnet, or from the interface's
    /// own address in the same subnet when the address is added.
    public var prefix: Int?
    /// The interface; nil: the one holding an address in `subnet`.
    public var interface: String?
    /// The subnet (Serviceguard's ip_subnet), e.g. 192.0.2.0 or 192.0.2.0/24.
    public var subnet: Subnet?
    public var source: Source

    public init(address: IPAddress, prefix: Int? = nil, interface: String? = nil, subnet: Subnet? = nil, source: Source) {
        self.address = address
        self.prefix = prefix
        self.interface = interface
        self.subnet = subnet
        self.source = source
    }

    public var isIPv6: Bool { address.isIPv6 }
}

/// Seconds each kind of step may take.
public struct StepTimeouts: Sendable, Equatable {
    public var vg = 60.0
    public var fsck = 600.0
    public var mount = 60.0
    public var umount = 60.0
    public var export = 30.0
    public var ip = 30.0
    public init() {}

    public static let names = ["vg", "fsck", "mount", "umount", "export", "ip"]

    public subscript(name: String) -> Double? {
        get {
            switch name {
            case "vg": return vg
            case "fsck": return fsck
            case "mount": return mount
            case "umount": return umount
            case "export": return export
            case "ip": return ip
            default: return nil
            }
        }
        set {
            guard let v = newValue else { return }
            switch name {
            case "vg": vg = v
            case "fsck": fsck = v
            case "mount": mount = v
            case "umount": umount = v
            case "export": export = v
            case "ip": ip = v
            default: break
            }
        }
    }
}

/// NFSv3 lock migration (the toolkit's FLM); used by the lock-migration scripts.
public struct LockMigration: Sendable, Equatable {
    public var enabled = false
    /// On a package file system: the SM entries are kept here.
    public var holdingDirectory = ""
    /// Seconds between copies of the SM directory to the holding directory.
    public var propagateInterval = 5.0
    /// Seconds to wait for statd during lock migration.
    public var statmonWaitTime = 90.0
    /// The status monitor's SM directory; empty: found where the distribution keeps it.
    public var smDirectory = ""
    /// Minutes sm-notify keeps retrying a client that does not answer.
    public var notifyRetryMinutes = 15
    /// What is restarted on takeover: rpc.statd as the package (Red Hat,
    /// Debian), or the kernel's lockd, with sm-notify alone (SLES).
    public var restart: LockRestart = .statd
    /// The monitor checks the sync (NFS_FLM_MONITOR), and starts one that
    /// ended this many times again before the check fails (NFS_FLM_RESTART).
    public var monitorSync = true
    public var syncRestarts = 0
    /// Where the holding directory was set.
    public var source: Source?
    public init() {}
}

public enum LockRestart: String, Sendable, Equatable {
    case statd, lockd
}

public enum NFSServer: String, Sendable, Equatable, CaseIterable {
    case kernel, ganesha
}

/// The kernel NFS server (`nfs_server = "kernel"`). With `manage`, the
/// package starts it on the node it starts on, and restarts it there if it
/// ran: rpc.mountd, nfsdcld keeping the NFSv4 client records on the
/// package's storage (the node taking over knows which clients may
/// reclaim), and rpc.nfsd with the package's threads, grace and lease,
/// under the package's NFSv4 server scope (the kernel takes it from the
/// host name when nfsd starts: the same on every node). A new nfsd puts
/// NFSv4 and lockd (NLM) in grace before the clients are told to reclaim.
/// Without it, the node's own service (nfs-kernel-server) runs the server
/// and hanfs only exports: no grace on takeover, and NFSv4 clients cannot
/// reclaim on the other node.
public struct KernelServerSettings: Sendable, Equatable {
    public var manage = false
    public var threads = 8
    /// Seconds of NFSv4 grace after the start; the kernel ends it early
    /// once every client on record has reclaimed.
    public var graceTime = 90.0
    /// lockd's grace period (the node's fs.nfs.nlm_grace_period, read as
    /// nfsd starts lockd); 0: `graceTime`, at most lockd's 240.
    public var nlmGraceTime = 0.0
    public var leaseTime = 90.0
    /// The NFSv4 server scope; empty: the package's name.
    public var scope = ""
    /// nfsdcld's storage; empty: `.nfsdcld` at the top of the package's first file system.
    public var recoveryDirectory = ""
    public var source: Source?
    public init() {}
}

/// NFS-Ganesha as the package's NFS server: its configuration is generated
/// from the package's exports at each start, with what must be the same on
/// every node fixed (each export's Export_Id and Filesystem_id from its
/// fsid, the server scope, the NFSv4 recovery directory on the package's
/// storage), so that clients keep their file handles and reclaim their
/// state on the node that takes over.
public struct GaneshaSettings: Sendable, Equatable {
    /// Seconds of NFSv4 (and NLM) grace after a start; at least the lease.
    public var gracePeriod = 90.0
    public var leaseLifetime = 60.0
    /// Seconds stop gives it after TERM before KILL. Without NLM locks it ends
    /// in 25 ms or so; with an NLM lock granted, NFS-Ganesha 4.3 hangs in its
    /// shutdown ("Removing all exports") until killed. What must survive is on
    /// the package's storage either way (the NFSv4 recovery records, the SM
    /// entries), as after a crash, which is what takeover is made for.
    public var stopTimeout = 0.1
    /// NFSv4 client records (RecoveryRoot); empty: `.ganesha` at the top
    /// of the package's first file system. It must move with the package.
    public var recoveryDirectory = ""
    public var source: Source?
    public init() {}
}

/// The package monitor; used by the monitor.
public struct MonitorSettings: Sendable, Equatable {
    public var interval = 10.0
    /// Also watch rpc.rquotad (QUOTA_MON).
    public var quota = false
    /// Failed checks in a row before a failure counts (MONITOR_DAEMONS_RETRY).
    public var retries = 4
    /// The same for the nlockmgr and rpcbind checks (MONITOR_LOCKD_RETRY,
    /// PORTMAP_RETRY); nil: `retries`.
    public var lockdRetries: Int?
    public var rpcbindRetries: Int?
    /// The transports the RPC services are checked over (SUPPORTED_NETIDS);
    /// empty: each service's usual one, over IPv4, IPv6 or both as the
    /// package's addresses are.
    public var netids: [String] = []
    /// Whether the maintenance file pauses the monitor (MAINTENANCE_FLAG).
    public var maintenance = true
    /// While this file exists, a failure does not end the monitor; empty:
    /// /run/hanfs/<name>.maintenance.
    public var maintenanceFile = ""
    /// The RPC services checked; empty: rpcbind, and nfs, mountd and
    /// nlockmgr when the package exports, status with lock migration,
    /// rquotad with quota.
    public var services: [String] = []
    /// Whether start runs the monitor in the background (and stop stops
    /// it); off where the cluster manager runs it as the package's service.
    public var run = false
    /// The legacy NFS_SERVICE_NAME: under Serviceguard, start runs the
    /// monitor as this package service (cmrunserv), so that Serviceguard
    /// watches it; elsewhere, in the background.
    public var serviceName = ""
    /// cmrunserv's restart option for it (NFS_SERVICE_RESTART): `-r N`, `-R`, or none.
    public var serviceRestart: [String] = []
    /// Also a direct read of each file system's device and a write of a
    /// status file on it, bounded by a timeout (storage that stopped answering).
    public var probe = false
    public init() {}
}
