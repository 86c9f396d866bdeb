/// Every attribute of a package, declared once: its name in each format,
/// the values it takes, its default (read from the model itself) and one
/// line saying what it is. The three formats read through this table, and
/// the references are made from it: the README's attribute table and
/// hanfs.conf(5) (`hanfs doc attributes`, `hanfs doc hanfs.conf.5`).
public struct Attribute: Sendable {
    public let field: Field
    /// In the native Lua format: `package.mount_concurrency`,
    /// `package.monitor.interval`, `filesystem.device`, `export`, `vg`;
    /// nil where it has none.
    public let native: String?
    /// In a Serviceguard modular package file.
    public let modular: [String]
    /// As legacy hanfs.conf and control-script variables.
    public let legacy: [String]
    /// Whose vocabulary the name is from.
    public let origin: Origin
    public let kind: AttributeKind
    public let doc: String
    /// The default, as the model has it; nil: none (required, or unset).
    let defaultOf: @Sendable (PackageConfiguration) -> String?

    /// One of hanfs's own attributes: `name` in a modular file, `NAME` as a
    /// variable, and its native name.
    init(
        _ field: Field, native: String?, hanfs name: String, _ kind: AttributeKind, _ doc: String,
        default defaultOf: @escaping @Sendable (PackageConfiguration) -> String? = { _ in nil }
    ) {
        self.init(field, native: native, modular: [name], legacy: [name.uppercased()], origin: .hanfs, kind, doc, default: defaultOf)
    }

    /// An NFS toolkit attribute (`XFS`, `LOCK_MIGRATION`, ...).
    init(
        _ field: Field, native: String?, toolkit name: String, _ kind: AttributeKind, _ doc: String,
        default defaultOf: @escaping @Sendable (PackageConfiguration) -> String? = { _ in nil }
    ) {
        self.init(field, native: native, modular: [name], legacy: [name], origin: .toolkit, kind, doc, default: defaultOf)
    }

    init(
        _ field: Field, native: String?, modular: [String], legacy: [String], origin: Origin = .serviceguard, _ kind: AttributeKind,
        _ doc: String, default defaultOf: @escaping @Sendable (PackageConfiguration) -> String? = { _ in nil }
    ) {
        self.field = field
        self.native = native
        self.modular = modular
        self.legacy = legacy
        self.origin = origin
        self.kind = kind
        self.doc = doc
        self.defaultOf = defaultOf
    }

    /// Serviceguard's package attributes; the NFS toolkit's (in a modular
    /// file also behind any module prefix, `tkit/nfs/nfs/XFS`, and the same
    /// name as a variable); hanfs's own (lower case in a modular file, also
    /// behind a prefix; upper case as a variable).
    public enum Origin: String, Sendable { case serviceguard, toolkit, hanfs }

    /// The documented default.
    public var defaultValue: String? { defaultOf(PackageConfiguration()) }
}

/// What values an attribute takes: how each format's value is read, and
/// how the reference describes it.
public enum AttributeKind: Sendable {
    case packageName, vgName, path, word, words, text
    case integer(minimum: Int)
    /// A positive number of seconds.
    case seconds
    /// A number of seconds, 0 turning the thing off.
    case secondsOrOff
    case yesNo
    case oneOf([String])
    case services
    /// Transports the RPC services are checked over: tcp, udp, tcp6, udp6.
    case netids
    case export
    /// An attribute of Serviceguard or the toolkit taken only at a value
    /// that means what hanfs does; any other is refused with `otherwise`.
    case only(describes: String, accepts: @Sendable (String) -> Bool, otherwise: String)
    case address
    case subnet

    /// For the reference.
    public var describes: String {
        switch self {
        case .packageName: "letters, digits, _ . -; at most 39"
        case .vgName: "a volume group name (one per line)"
        case .path: "an absolute path"
        case .word: "one word"
        case .words: "words (options), space separated"
        case .text: "text"
        case .integer(let minimum): "a whole number, at least \(minimum)"
        case .seconds: "seconds (> 0)"
        case .secondsOrOff: "seconds; 0: off"
        case .yesNo: "YES or NO (native: true or false)"
        case .oneOf(let values): values.joined(separator: " or ")
        case .services: "of " + Attributes.monitorServices.joined(separator: ", ")
        case .netids: "of " + Attributes.netids.joined(separator: ", ")
        case .only(let describes, _, _): describes
        case .export: "exportfs arguments: `-o OPTIONS CLIENTS:/DIR` (native: a table)"
        case .address: "an IPv4 or IPv6 address, with /prefix if wanted"
        case .subnet: "a network address, with /prefix if wanted"
        }
    }
}

public enum Attributes {
    /// The RPC services the monitor knows.
    public static let monitorServices = ["rpcbind", "nfs", "mountd", "nlockmgr", "status", "rquotad"]
    /// The transports (netids) the RPC checks speak.
    public static let netids = ["tcp", "udp", "tcp6", "udp6"]

    public static let all: [Attribute] = sections.flatMap(\.attributes)

    /// The attributes by what they concern, in the reference's order.
    public static let sections: [(title: String, attributes: [Attribute])] = [
        ("The package", package), ("File systems", fileSystems), ("Addresses", addresses), ("Exports", exports),
        ("Lock migration", lockMigration), ("The monitor", monitor), ("The NFS server", nfsServer),
        ("Taken at what hanfs does, refused otherwise", takenAsHanfsDoes),
    ]

    static let package: [Attribute] = [
        Attribute(
            .packageName, native: "package.name", modular: ["package_name"], legacy: ["PACKAGE_NAME", "PACKAGE"],
            .packageName, "The package's name; its lock, marker, notes and log are named after it (legacy: else its directory)."),
        Attribute(.volumeGroup, native: "vg", modular: ["vg"], legacy: ["VG"], .vgName, "A volume group the package activates."),
        Attribute(
            .vgOwnership, native: "package.vg_ownership", hanfs: "vg_ownership", .oneOf(["tags", "system_id"]),
            "How a node takes a volume group: LVM host tags, or LVM's system ID.", default: { $0.vgOwnership.rawValue }),
        Attribute(
            .vgActivationRetries, native: "package.vg_activation_retries", modular: [], legacy: ["ACTIVATION_RETRY_COUNT"],
            .integer(minimum: 0), "A volume group's activation tried again this many times, 2 s apart, before start fails.",
            default: { String($0.vgActivationRetries) }),
        Attribute(
            .vgDeactivationRetries, native: "package.vg_deactivation_retries", modular: ["deactivation_retry_count"],
            legacy: ["DEACTIVATION_RETRY_COUNT"], .integer(minimum: 0),
            "A volume group's deactivation tried again this many times, 2 s apart, before stop fails.",
            default: { String($0.vgDeactivationRetries) }),
        Attribute(
            .fsckPolicy, native: "package.run_fsck", hanfs: "run_fsck", .oneOf(["auto", "force", "no"]),
            "auto: fsck only file systems without a journal; force: every one; no: none.", default: { $0.fsckPolicy.rawValue }),
        Attribute(
            .fsckConcurrency, native: "package.fsck_concurrency", modular: ["concurrent_fsck_operations"],
            legacy: ["CONCURRENT_FSCK_OPERATIONS"], .integer(minimum: 1), "File systems checked at once.",
            default: { String($0.fsckConcurrency) }),
        Attribute(
            .mountConcurrency, native: "package.mount_concurrency", modular: ["concurrent_mount_and_umount_operations"],
            legacy: ["CONCURRENT_MOUNT_AND_UMOUNT_OPERATIONS", "CONCURRENT_MOUNT_OPERATIONS"], .integer(minimum: 1),
            "File systems mounted or unmounted at once, parents before children.", default: { String($0.mountConcurrency) }),
        Attribute(
            .mountRetries, native: "package.mount_retries", modular: ["fs_mount_retry_count"], legacy: ["FS_MOUNT_RETRY_COUNT"],
            .integer(minimum: 0), "On a busy mount point: stop its users and try again, this many times.",
            default: { String($0.mountRetries) }),
        Attribute(
            .umountRetries, native: "package.umount_retries", modular: ["fs_umount_retry_count"],
            legacy: ["FS_UMOUNT_COUNT", "FS_UMOUNT_RETRY_COUNT"], .integer(minimum: 0),
            "After the TERM and KILL of a file system's users, the whole umount again, this many times.",
            default: { String($0.umountRetries) }),
    ] + StepTimeouts.names.map { step in
        Attribute(
            .timeout(step), native: "package.timeouts.\(step)", hanfs: "\(step)_timeout", .seconds,
            "Seconds each \(step) step may take.", default: { String(seconds: $0.timeouts[step]!) })
    } + [
        Attribute(
            .arpCount, native: "package.arp_count", hanfs: "arp_count", .integer(minimum: 0),
            "Gratuitous ARPs sent after an address is added.", default: { String($0.arpCount) }),
        Attribute(
            .arpInterval, native: "package.arp_interval", hanfs: "arp_interval", .seconds, "Seconds between them.",
            default: { String(seconds: $0.arpInterval) }),
        Attribute(
            .dadTimeout, native: "package.dad_timeout", hanfs: "dad_timeout", .secondsOrOff,
            "How long another host has to answer for the address before it is added.", default: { String(seconds: $0.dadTimeout) }),
        Attribute(
            .reconnectClients, native: "package.reconnect_clients", hanfs: "reconnect_clients", .yesNo,
            "The clients' TCP connections kept on the package's storage, and each prompted to reconnect once the "
                + "addresses are up on the node that took over (a tickle ACK); NO: clients find that node at their next "
                + "TCP retransmission.", default: { $0.reconnectClients ? "YES" : "NO" }),
        Attribute(
            .logFile, native: "package.log_file", modular: ["script_log_file"], legacy: ["SCRIPT_LOG_FILE", "LOG_FILE"], .path,
            "The package's log; written only if hanfs made it.", default: { _ in "/var/log/hanfs/NAME.log" }),
        Attribute(
            .syslog, native: "package.syslog", hanfs: "syslog", .yesNo,
            "Each event of the package log also to syslog: the journal's own fields (HANFS_PACKAGE, HANFS_ACTION, "
                + "HANFS_STEP, ...) where journald runs, else an RFC 3164 line on /dev/log.",
            default: { $0.syslog ? "YES" : "NO" }),
        Attribute(
            .syslogFacility, native: "package.syslog_facility", hanfs: "syslog_facility",
            .oneOf(["user", "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
            "The syslog facility.", default: { $0.syslogFacility }),
        Attribute(
            .syslogIdentity, native: "package.syslog_ident", hanfs: "syslog_ident", .word,
            "The syslog identity (SYSLOG_IDENTIFIER).", default: { $0.syslogIdentity }),
        Attribute(
            .hooksFile, native: "package.hooks_file", hanfs: "hooks_file", .path,
            "The package's own site hooks (stdlib/plan.lua), loaded after site.lua before every script."),
    ]

    static let fileSystems: [Attribute] = [
        Attribute(.fsDevice, native: "filesystem.device", modular: ["fs_name"], legacy: ["LV"], .path, "A file system's device; a new file system in a modular file."),
        Attribute(.fsDirectory, native: "filesystem.directory", modular: ["fs_directory"], legacy: ["FS"], .path, "Its mount point."),
        Attribute(.fsType, native: "filesystem.type", modular: ["fs_type"], legacy: ["FS_TYPE"], .word, "Its type; empty: mount tells."),
        Attribute(
            .fsMountOptions, native: "filesystem.options", modular: ["fs_mount_opt"], legacy: ["FS_MOUNT_OPT"], .words,
            "mount's options (`-o noatime`; native: `noatime`)."),
        Attribute(.fsUmountOptions, native: "filesystem.umount_options", modular: ["fs_umount_opt"], legacy: ["FS_UMOUNT_OPT"], .words, "umount's options."),
        Attribute(.fsFsckOptions, native: "filesystem.fsck_options", modular: ["fs_fsck_opt"], legacy: ["FS_FSCK_OPT"], .words, "fsck's options (default `-p`)."),
    ]

    static let addresses: [Attribute] = [
        Attribute(.ipAddress, native: "address.address", modular: ["ip_address"], legacy: ["IP"], .address, "A package address; a new address in a modular file."),
        Attribute(.ipSubnet, native: "address.subnet", modular: ["ip_subnet"], legacy: ["SUBNET"], .subnet, "The subnet the addresses after it are in: the interface holding an address in it takes them."),
        Attribute(.ipInterface, native: "address.interface", modular: [], legacy: [], .word, "The interface the address goes on."),
    ]

    static let exports: [Attribute] = [
        Attribute(
            .export, native: "export", toolkit: "XFS", .export,
            "A directory exported to a client spec; fsid mandatory and unique in the package (native: `export{directory, clients, options, fsid}`)."),
    ]

    static let lockMigration: [Attribute] = [
        Attribute(
            .lockMigration, native: "package.lock_migration.enabled", toolkit: "LOCK_MIGRATION", .yesNo,
            "NFSv3 lock migration: the clients' SM entries move with the package.", default: { $0.lockMigration.enabled ? "YES" : "NO" }),
        Attribute(
            .holdingDirectory, native: "package.lock_migration.holding_dir", toolkit: "NFS_FLM_HOLDING_DIR", .path,
            "Where the SM entries are kept, on a package file system."),
        Attribute(
            .propagateInterval, native: "package.lock_migration.propagate_interval", toolkit: "PROPAGATE_INTERVAL", .seconds,
            "Seconds between the sync's full comparisons.", default: { String(seconds: $0.lockMigration.propagateInterval) }),
        Attribute(
            .statmonWaitTime, native: "package.lock_migration.statmon_waittime", toolkit: "STATMON_WAITTIME", .seconds,
            "Seconds rpc.statd has to come up.", default: { String(seconds: $0.lockMigration.statmonWaitTime) }),
        Attribute(
            .smDirectory, native: "package.lock_migration.sm_dir", hanfs: "sm_dir", .path,
            "rpc.statd's SM directory.", default: { _ in "found: /var/lib/nfs/statd/sm or /var/lib/nfs/sm" }),
        Attribute(
            .notifyRetryMinutes, native: "package.lock_migration.notify_retry_minutes", hanfs: "notify_retry_minutes",
            .integer(minimum: 0), "Minutes sm-notify goes on trying an unreachable client.",
            default: { String($0.lockMigration.notifyRetryMinutes) }),
        Attribute(
            .lockRestart, native: "package.lock_migration.restart", hanfs: "lock_restart", .oneOf(["statd", "lockd"]),
            "What a takeover restarts: rpc.statd as the package, or lockd (SLES).", default: { $0.lockMigration.restart.rawValue }),
        Attribute(
            .syncMonitor, native: "package.lock_migration.monitor_sync", toolkit: "NFS_FLM_MONITOR", .yesNo,
            "The monitor checks the sync into the holding directory (the toolkit's nfs.flm).",
            default: { $0.lockMigration.monitorSync ? "YES" : "NO" }),
        Attribute(
            .syncRestarts, native: "package.lock_migration.sync_restarts", toolkit: "NFS_FLM_RESTART", .integer(minimum: 0),
            "Times the monitor starts a sync that ended again before the check fails.",
            default: { String($0.lockMigration.syncRestarts) }),
        Attribute(
            .nfsv4HoldingDirectory, native: nil, toolkit: "NFSV4_FLM_HOLDING_DIR", .path,
            "The NFSv4 client records that move with the package: the NFS server's recovery directory (kernel_recovery_dir "
                + "or ganesha_recovery_dir, whichever server serves)."),
    ]

    static let monitor: [Attribute] = [
        Attribute(
            .monitorInterval, native: "package.monitor.interval", toolkit: "MONITOR_INTERVAL", .seconds,
            "Seconds between the monitor's checks.", default: { String(seconds: $0.monitor.interval) }),
        Attribute(
            .monitorRetries, native: "package.monitor.retries", toolkit: "MONITOR_DAEMONS_RETRY", .integer(minimum: 0),
            "A check counts after this many misses in a row, plus one.", default: { String($0.monitor.retries) }),
        Attribute(
            .lockdRetries, native: "package.monitor.lockd_retries", toolkit: "MONITOR_LOCKD_RETRY", .integer(minimum: 0),
            "The same for the nlockmgr (lockd) check.", default: { _ in "retries" }),
        Attribute(
            .rpcbindRetries, native: "package.monitor.rpcbind_retries", toolkit: "PORTMAP_RETRY", .integer(minimum: 0),
            "The same for the rpcbind check.", default: { _ in "retries" }),
        Attribute(
            .netids, native: "package.monitor.netids", toolkit: "SUPPORTED_NETIDS", .netids,
            "The transports each RPC service is checked over, space or comma separated.",
            default: { _ in "each service's usual one, over IPv4 and IPv6 as the package's addresses are" }),
        Attribute(
            .quotaMonitor, native: "package.monitor.quota", toolkit: "QUOTA_MON", .yesNo, "Also check rpc.rquotad.",
            default: { $0.monitor.quota ? "YES" : "NO" }),
        Attribute(
            .monitorServices, native: "package.monitor.services", hanfs: "monitor_services", .services,
            "The RPC services checked, comma separated.", default: { _ in "from what the package uses" }),
        Attribute(
            .maintenanceFile, native: "package.monitor.maintenance_file", hanfs: "maintenance_file", .path,
            "While it exists, a failed check does not end the monitor.",
            default: { _ in "TKIT_DIR/nfs.debug with TKIT_DIR, else /run/hanfs/NAME.maintenance" }),
        Attribute(
            .maintenanceFlag, native: "package.monitor.maintenance", toolkit: "MAINTENANCE_FLAG", .yesNo,
            "Whether the maintenance file pauses the monitor; NO: there is no maintenance mode.",
            default: { $0.monitor.maintenance ? "YES" : "NO" }),
        Attribute(
            .toolkitDirectory, native: nil, toolkit: "TKIT_DIR", .path,
            "The toolkit's package directory: its nfs.debug is the maintenance file."),
        Attribute(
            .monitorRun, native: "package.monitor.run", hanfs: "run_monitor", .yesNo,
            "start runs the monitor and stop stops it (NO: the cluster manager runs it).", default: { $0.monitor.run ? "YES" : "NO" }),
        Attribute(
            .monitorProbe, native: "package.monitor.probe", hanfs: "monitor_probe", .yesNo,
            "Also a direct read of each device and a write on each file system.", default: { $0.monitor.probe ? "YES" : "NO" }),
        Attribute(
            .monitorService, native: nil, toolkit: "NFS_SERVICE_NAME", .text,
            "The Serviceguard service the monitor runs as (start runs it with cmrunserv)."),
        Attribute(
            .monitorServiceRestart, native: nil, modular: [], legacy: ["NFS_SERVICE_RESTART"], origin: .toolkit, .text,
            "cmrunserv's restart option for that service: `-r N` or `-R` (unlimited); empty: none."),
    ]

    static let nfsServer: [Attribute] = [
        Attribute(
            .nfsServer, native: "package.nfs_server", hanfs: "nfs_server", .oneOf(["kernel", "ganesha"]),
            "Which NFS server serves the exports.", default: { $0.nfsServer.rawValue }),
        Attribute(
            .ganeshaGracePeriod, native: "package.ganesha.grace_period", hanfs: "ganesha_grace_period", .seconds,
            "NFS-Ganesha's grace period: at least the lease, at most 180.", default: { String(seconds: $0.ganesha.gracePeriod) }),
        Attribute(
            .ganeshaLeaseLifetime, native: "package.ganesha.lease_lifetime", hanfs: "ganesha_lease_lifetime", .seconds,
            "NFS-Ganesha's NFSv4 lease: 1 to 120.", default: { String(seconds: $0.ganesha.leaseLifetime) }),
        Attribute(
            .ganeshaRecoveryDirectory, native: "package.ganesha.recovery_dir", hanfs: "ganesha_recovery_dir", .path,
            "Its NFSv4 client records, on a package file system.", default: { _ in ".ganesha at the top of the first file system" }),
        Attribute(
            .ganeshaStopTimeout, native: "package.ganesha.stop_timeout", hanfs: "ganesha_stop_timeout", .seconds,
            "Seconds after TERM before KILL.", default: { String(seconds: $0.ganesha.stopTimeout) }),
        Attribute(
            .kernelManage, native: "package.kernel.manage", hanfs: "kernel_manage", .yesNo,
            "The package starts the node's kernel NFS server (rpc.mountd, nfsdcld, rpc.nfsd), restarted for a new grace "
                + "period; NO: the node's own service runs it.", default: { $0.kernel.manage ? "YES" : "NO" }),
        Attribute(
            .kernelThreads, native: "package.kernel.threads", hanfs: "kernel_threads", .integer(minimum: 1),
            "nfsd threads.", default: { String($0.kernel.threads) }),
        Attribute(
            .kernelGraceTime, native: "package.kernel.grace_time", hanfs: "kernel_grace_time", .seconds,
            "The kernel server's NFSv4 grace period (and lockd's, unless nlm_grace_time): at least the lease, 10 to 3600.",
            default: { String(seconds: $0.kernel.graceTime) }),
        Attribute(
            .kernelNLMGraceTime, native: "package.kernel.nlm_grace_time", hanfs: "kernel_nlm_grace_time", .seconds,
            "lockd's grace period: how long the NFSv3 clients told to reclaim their NLM locks have to do it. New locks, "
                + "over NFSv3 and NFSv4 alike, wait it out, and nothing ends it early: shorter than grace_time, new locks "
                + "come sooner, and a client that misses it loses its locks. 10 to 240; lockd rounds it up to a multiple "
                + "of 10.", default: { _ in "grace_time (at most 240)" }),
        Attribute(
            .kernelLeaseTime, native: "package.kernel.lease_time", hanfs: "kernel_lease_time", .seconds,
            "The kernel server's NFSv4 lease: 10 to 3600.", default: { String(seconds: $0.kernel.leaseTime) }),
        Attribute(
            .kernelScope, native: "package.kernel.scope", hanfs: "kernel_scope", .text,
            "The NFSv4 server scope, the same on every node.", default: { _ in "the package's name" }),
        Attribute(
            .kernelRecoveryDirectory, native: "package.kernel.recovery_dir", hanfs: "kernel_recovery_dir", .path,
            "nfsdcld's NFSv4 client records, on a package file system.", default: { _ in ".nfsdcld at the top of the first file system" }),
    ]

    /// Attributes of Serviceguard and the toolkit that hanfs takes only at
    /// the value that means what it does; any other value is refused,
    /// saying what to use instead. None is dropped in silence.
    static let takenAsHanfsDoes: [Attribute] = [
        only(
            "NFS_FLM_SCRIPT", modular: ["NFS_FLM_SCRIPT"], "the toolkit's nfs.flm", { base($0) == "nfs.flm" },
            "hanfs's own sync (flm_start) does what nfs.flm did; a site's own script runs from a hook (plan.before, "
                + "stdlib/plan.lua): remove NFS_FLM_SCRIPT"),
        only(
            "NFS_SERVICE_CMD", modular: [], "the toolkit's nfs.mon, without arguments", { base($0) == "nfs.mon" },
            "the service hanfs runs is its own monitor: set its interval and retries with MONITOR_INTERVAL and "
                + "MONITOR_DAEMONS_RETRY, and name it with NFS_SERVICE_NAME"),
        only(
            "VGCHANGE", modular: ["vgchange_cmd"], "vgchange -a y or vgchange -a e",
            { ["vgchange -a y", "vgchange -a e"].contains(words($0)) },
            "hanfs activates with vgchange -a y a volume group this node holds alone by vg_ownership (tags or "
                + "system_id): remove it"),
        only(
            "CONCURRENT_VGCHANGE_OPERATIONS", modular: ["concurrent_vgchange_operations"], "1", { words($0) == "1" },
            "hanfs activates the volume groups one at a time: set 1 or remove it"),
        only(
            nil, modular: ["enable_threaded_vgchange"], "0", { words($0) == "0" },
            "LVM on Linux has no threaded vgchange (HP-UX's -T): set 0 or remove it"),
        only(
            "KILL_PROCESSES_ACCESSING_RAW_DEVICES", modular: ["kill_processes_accessing_raw_devices"], "no",
            { words($0).lowercased() == "no" },
            "hanfs stops the users of the package's file systems, never of raw devices: set no, and stop such users "
                + "from a site hook"),
        only(
            "VXVM_DG", modular: ["vxvm_dg"], "empty", { words($0).isEmpty },
            "hanfs activates LVM volume groups (vg), not VxVM disk groups"),
        only(
            "CVM_DG", modular: ["cvm_dg"], "empty", { words($0).isEmpty },
            "hanfs activates LVM volume groups (vg), not CVM disk groups"),
    ]

    private static func only(
        _ legacy: String?, modular: [String], _ describes: String, _ accepts: @escaping @Sendable (String) -> Bool,
        _ otherwise: String
    ) -> Attribute {
        let name = legacy ?? modular[0]
        let origin: Attribute.Origin = name.hasPrefix("NFS_") ? .toolkit : .serviceguard
        return Attribute(
            .accepted(name), native: nil, modular: modular, legacy: legacy.map { [$0] } ?? [], origin: origin,
            .only(describes: describes, accepts: accepts, otherwise: otherwise),
            "Taken only as \(describes); otherwise refused: \(otherwise).")
    }

    /// A path's last component; words joined by one space.
    private static func base(_ value: String) -> String {
        let w = words(value)
        return w.contains(" ") ? w : String(w.split(separator: "/").last ?? "")
    }
    private static func words(_ value: String) -> String { value.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// The cluster manager's own modular attributes: valid in a package file, not hanfs's to act on.
    static let serviceguardOwn = [
        "package_description", "package_type", "module_name", "module_version", "node_name", "auto_run",
        "node_fail_fast_enabled", "run_script_timeout", "halt_script_timeout", "successor_halt_timeout",
        "operation_sequence", "log_level", "failover_policy", "failback_policy", "priority",
        "dependency_name", "dependency_condition", "dependency_location", "local_lan_failover_allowed",
        "monitored_subnet", "monitored_subnet_access", "cluster_interconnect_subnet", "ip_subnet_node",
        "service_name", "service_cmd", "service_restart", "service_fail_fast_enabled", "service_halt_timeout",
        "cvm_activation_cmd", "vxvol_cmd", "vxvm_dg_retry", "fs_server", "fs_backing_vg", "pv", "external_pre_script",
        "external_script", "user_name", "user_host", "user_role", "email_id", "resource_name", "resource_polling_interval", "resource_start",
        "resource_up_value", "storage_group",
    ]

    /// Each field's attribute.
    static let byField: [Field: Attribute] = Dictionary(all.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })

    public static func attribute(_ field: Field) -> Attribute? { byField[field] }
}

extension String {
    /// A number of seconds as the reference shows it: `60`, `0.2`.
    public init(seconds value: Double) {
        self = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
