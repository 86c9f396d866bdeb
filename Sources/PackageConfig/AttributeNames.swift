/// The attribute names of the two text formats, mapped onto `Field`.
enum AttributeNames {
    /// The NFS toolkit's attributes, the same in both formats (in a modular
    /// file behind any module prefix: `tkit/nfs/nfs/XFS`, `nfs/hanfs_export/XFS`).
    static let toolkit: [String: Field] = [
        "XFS": .export,
        "LOCK_MIGRATION": .lockMigration,
        "NFS_FLM_HOLDING_DIR": .holdingDirectory,
        "PROPAGATE_INTERVAL": .propagateInterval,
        "STATMON_WAITTIME": .statmonWaitTime,
        "MONITOR_INTERVAL": .monitorInterval,
        "QUOTA_MON": .quotaMonitor,
        // Known, and not hanfs's business (or not yet).
        "TKIT_DIR": .ignored, "MAINTENANCE_FLAG": .ignored, "MONITOR_LOCKD_RETRY": .ignored,
        "MONITOR_DAEMONS_RETRY": .monitorRetries, "PORTMAP_RETRY": .ignored, "NFS_FLM_MONITOR": .ignored,
        "NFS_FLM_RESTART": .ignored, "SUPPORTED_NETIDS": .ignored, "NFS_SERVICE_NAME": .monitorService,
        "NFS_FLM_SCRIPT": .ignored, "NFSV4_FLM_HOLDING_DIR": .ignored,
    ]

    /// hanfs's own attributes, the same in both formats (lower case in a
    /// modular file, upper case as hanfs.conf variables).
    static let hanfs: [String: Field] = [
        "vg_ownership": .vgOwnership, "run_fsck": .fsckPolicy, "sm_dir": .smDirectory,
        "notify_retry_minutes": .notifyRetryMinutes, "lock_restart": .lockRestart,
        "maintenance_file": .maintenanceFile, "monitor_services": .monitorServices, "run_monitor": .monitorRun, "monitor_probe": .monitorProbe, "arp_count": .arpCount, "arp_interval": .arpInterval, "dad_timeout": .dadTimeout,
        "vg_timeout": .timeout("vg"), "fsck_timeout": .timeout("fsck"), "mount_timeout": .timeout("mount"),
        "umount_timeout": .timeout("umount"), "export_timeout": .timeout("export"), "ip_timeout": .timeout("ip"),
        "nfs_server": .nfsServer, "ganesha_grace_period": .ganeshaGracePeriod,
        "ganesha_lease_lifetime": .ganeshaLeaseLifetime, "ganesha_recovery_dir": .ganeshaRecoveryDirectory,
        "ganesha_stop_timeout": .ganeshaStopTimeout, "hooks_file": .hooksFile,
    ]

    /// Serviceguard's modular package attributes.
    static let modular: [String: Field] = [
        "package_name": .packageName, "vg": .volumeGroup,
        "fs_name": .fsDevice, "fs_directory": .fsDirectory, "fs_type": .fsType, "fs_mount_opt": .fsMountOptions,
        "fs_umount_opt": .fsUmountOptions, "fs_fsck_opt": .fsFsckOptions,
        "ip_subnet": .ipSubnet, "ip_address": .ipAddress,
        "concurrent_fsck_operations": .fsckConcurrency,
        "concurrent_mount_and_umount_operations": .mountConcurrency,
        "fs_mount_retry_count": .mountRetries, "fs_umount_retry_count": .umountRetries,
        "script_log_file": .logFile,
    ].merging(serviceguardOwn.map { ($0, Field.ignored) }, uniquingKeysWith: { a, _ in a })

    /// The cluster manager's own attributes: valid in a package file, not hanfs's to act on.
    static let serviceguardOwn = [
        "package_description", "package_type", "module_name", "module_version", "node_name", "auto_run",
        "node_fail_fast_enabled", "run_script_timeout", "halt_script_timeout", "successor_halt_timeout",
        "operation_sequence", "log_level", "failover_policy", "failback_policy", "priority",
        "dependency_name", "dependency_condition", "dependency_location", "local_lan_failover_allowed",
        "monitored_subnet", "monitored_subnet_access", "cluster_interconnect_subnet", "ip_subnet_node",
        "service_name", "service_cmd", "service_restart", "service_fail_fast_enabled", "service_halt_timeout",
        "vgchange_cmd", "cvm_activation_cmd", "vxvol_cmd", "vxvm_dg", "vxvm_dg_retry", "deactivation_retry_count",
        "kill_processes_accessing_raw_devices", "concurrent_vgchange_operations", "enable_threaded_vgchange",
        "fs_server", "fs_backing_vg", "pv", "external_pre_script", "external_script", "user_name", "user_host",
        "user_role", "email_id", "resource_name", "resource_polling_interval", "resource_start",
        "resource_up_value", "storage_group",
    ]

    /// The legacy control-script and hanfs.conf variables.
    static let legacy: [String: Field] = [
        "PACKAGE_NAME": .packageName, "PACKAGE": .packageName, "VG": .volumeGroup,
        "LV": .fsDevice, "FS": .fsDirectory, "FS_TYPE": .fsType, "FS_MOUNT_OPT": .fsMountOptions,
        "FS_UMOUNT_OPT": .fsUmountOptions, "FS_FSCK_OPT": .fsFsckOptions, "IP": .ipAddress, "SUBNET": .ipSubnet,
        "CONCURRENT_FSCK_OPERATIONS": .fsckConcurrency,
        "CONCURRENT_MOUNT_AND_UMOUNT_OPERATIONS": .mountConcurrency, "CONCURRENT_MOUNT_OPERATIONS": .mountConcurrency,
        "FS_MOUNT_RETRY_COUNT": .mountRetries, "FS_UMOUNT_COUNT": .umountRetries,
        "FS_UMOUNT_RETRY_COUNT": .umountRetries, "SCRIPT_LOG_FILE": .logFile, "LOG_FILE": .logFile,
        "CONCURRENT_VGCHANGE_OPERATIONS": .ignored, "VGCHANGE": .ignored, "ACTIVATION_RETRY_COUNT": .ignored,
        "DEACTIVATION_RETRY_COUNT": .ignored, "KILL_PROCESSES_ACCESSING_RAW_DEVICES": .ignored,
    ]

    static func modularField(_ attribute: String) -> Field? {
        if let f = modular[attribute] ?? hanfs[attribute] { return f }
        if attribute.hasPrefix("pev_") { return .ignored }
        // A module's attribute: its last component (`tkit/nfs/nfs/XFS` is XFS).
        let last = String(attribute.split(separator: "/").last ?? "")
        return toolkit[last] ?? hanfs[last]
    }

    static func legacyField(_ variable: String) -> Field? {
        legacy[variable] ?? toolkit[variable] ?? hanfs[variable.lowercased()]
    }

    /// A field's name in each format, for messages about the whole package.
    static func modularName(_ field: Field) -> String {
        switch field {
        case .export: return "XFS"
        case .holdingDirectory: return "NFS_FLM_HOLDING_DIR"
        default:
            return name(of: field, in: modular) ?? name(of: field, in: hanfs) ?? name(of: field, in: toolkit) ?? field.key
        }
    }

    static func legacyName(_ field: Field) -> String {
        name(of: field, in: legacy) ?? name(of: field, in: toolkit) ?? name(of: field, in: hanfs)?.uppercased() ?? field.key
    }

    /// The name a table gives a field (the first in order, for a field with several).
    static func name(of field: Field, in table: [String: Field]) -> String? {
        table.filter { $0.value == field }.keys.min()
    }
}
