import LuaRuntime
import PackageConfig
import Primitives

/// The package as the scripts see it (`pkg`), and the way back: the tables a
/// script hands to a primitive (an entry of `pkg`, or one it wrote itself).
enum PackageTable {
    static func strings(_ list: [String]) -> LuaValue { .table(LuaTable(array: list.map { .string($0) })) }

    static func table(_ c: PackageConfiguration, settings: NodeSettings) -> LuaValue {
        var t = LuaTable()
        t["name"] = .string(c.name)
        t["file"] = .string(c.file)
        t["vg_ownership"] = .string(c.vgOwnership.rawValue)
        t["run_fsck"] = .string(c.fsckPolicy.rawValue)
        t["volume_groups"] = strings(c.volumeGroups.map(\.name))
        t["filesystems"] = .table(LuaTable(array: c.fileSystems.map(table)))
        t["exports"] = .table(LuaTable(array: c.exports.map(table)))
        t["addresses"] = .table(LuaTable(array: c.addresses.map(table)))
        t["concurrency"] = .table(LuaTable(fields: ["fsck": .integer(Int64(c.fsckConcurrency)), "mount": .integer(Int64(c.mountConcurrency))]))
        t["retries"] = .table(LuaTable(fields: ["mount": .integer(Int64(c.mountRetries)), "umount": .integer(Int64(c.umountRetries))]))
        var timeouts = LuaTable()
        for name in StepTimeouts.names { timeouts[name] = .number(c.timeouts[name]!) }
        t["timeouts"] = .table(timeouts)
        t["vg_activation_retries"] = .integer(Int64(c.vgActivationRetries))
        t["vg_deactivation_retries"] = .integer(Int64(c.vgDeactivationRetries))
        t["arp"] = .table(LuaTable(fields: ["count": .integer(Int64(c.arpCount)), "interval": .number(c.arpInterval)]))
        t["dad_timeout"] = .number(c.dadTimeout)
        t["reconnect_clients"] = .boolean(c.reconnectClients)
        t["nfs_server"] = .string(c.nfsServer.rawValue)
        t["hooks_file"] = .string(c.hooksFile)
        t["ganesha"] = .table(LuaTable(fields: [
            "grace_period": .number(c.ganesha.gracePeriod), "lease_lifetime": .number(c.ganesha.leaseLifetime),
            "recovery_dir": .string(c.ganeshaRecoveryDirectory), "stop_timeout": .number(c.ganesha.stopTimeout),
        ]))
        t["kernel"] = .table(LuaTable(fields: [
            "manage": .boolean(c.kernel.manage), "threads": .integer(Int64(c.kernel.threads)),
            "grace_time": .number(c.kernel.graceTime), "lease_time": .number(c.kernel.leaseTime),
            "nlm_grace_time": .number(c.kernelNLMGraceTime),
            "scope": .string(c.kernelScope), "recovery_dir": .string(c.kernelRecoveryDirectory),
        ]))
        t["lock_migration"] = .table(
            LuaTable(fields: [
                "enabled": .boolean(c.lockMigration.enabled), "holding_dir": .string(c.lockMigration.holdingDirectory),
                "propagate_interval": .number(c.lockMigration.propagateInterval),
                "statmon_waittime": .number(c.lockMigration.statmonWaitTime),
                "sm_dir": .string(c.lockMigration.smDirectory.isEmpty
                    ? StatusMonitor.detectDirectory() ?? "" : c.lockMigration.smDirectory),
                "notify_retry_minutes": .integer(Int64(c.lockMigration.notifyRetryMinutes)),
                "restart": .string(c.lockMigration.restart.rawValue),
                "monitor_sync": .boolean(c.lockMigration.monitorSync),
                "sync_restarts": .integer(Int64(c.lockMigration.syncRestarts)),
            ]))
        var services = c.monitor.services
        if services.isEmpty {
            services = ["rpcbind"] + (c.exports.isEmpty ? [] : ["nfs", "mountd", "nlockmgr"])
                + (c.lockMigration.enabled ? ["status"] : []) + (c.monitor.quota ? ["rquotad"] : [])
        }
        t["monitor"] = .table(LuaTable(fields: [
            "interval": .number(c.monitor.interval), "quota": .boolean(c.monitor.quota),
            "retries": .integer(Int64(c.monitor.retries)), "services": strings(services),
            "run": .boolean(c.monitor.run), "probe": .boolean(c.monitor.probe), "service_name": .string(c.monitor.serviceName),
            "maintenance_file": c.maintenanceFile(runDirectory: settings.runDirectory).map(LuaValue.string) ?? .nil,
            "lockd_retries": .integer(Int64(c.monitor.lockdRetries ?? c.monitor.retries)),
            "rpcbind_retries": .integer(Int64(c.monitor.rpcbindRetries ?? c.monitor.retries)),
            "netids": strings(c.monitor.netids),
        ]))
        return .table(t)
    }

    static func table(_ fs: FileSystem) -> LuaValue {
        .table(
            LuaTable(fields: [
                "device": .string(fs.device), "directory": .string(fs.directory), "type": .string(fs.type),
                "mount_options": strings(fs.mountOptions), "umount_options": strings(fs.umountOptions),
                "fsck_options": strings(fs.fsckOptions), "line": .integer(Int64(fs.source.line)),
            ]))
    }

    static func table(_ e: Export) -> LuaValue {
        .table(
            LuaTable(fields: [
                "directory": .string(e.directory), "clients": .string(e.clients), "options": .string(e.options.joined(separator: ",")),
                "fsid": fsid(e.fsid), "line": .integer(Int64(e.source.line)),
            ]))
    }

    /// A number as a number; root and a UUID as text.
    static func fsid(_ f: FSID?) -> LuaValue {
        switch f {
        case .number(let n)?: .integer(Int64(n))
        case let other?: .string(other.description)
        case nil: .nil
        }
    }

    static func table(_ a: PackageAddress) -> LuaValue {
        var t = LuaTable(fields: ["address": .string(a.address.description), "line": .integer(Int64(a.source.line))])
        if let p = a.prefix { t["prefix"] = .integer(Int64(p)) }
        if let i = a.interface { t["interface"] = .string(i) }
        if let s = a.subnet { t["subnet"] = .string(s.description) }
        return .table(t)
    }

    // MARK: the way back, checked as a package file is

    /// A table's fields as a script wrote them, read by the attribute table's kinds.
    static func fields(_ t: LuaTableView, _ map: [(String, Field)]) throws -> [(Field, RawValue, String)] {
        var fields: [(Field, RawValue, String)] = []
        for (key, field) in map {
            let value = try t[key]
            if case .nil = value { continue }
            // A list of words may be a table of strings (as `pkg` gives them).
            if case .table(let list) = value, list.fields.isEmpty {
                let words = list.array.compactMap(\.stringValue)
                guard words.count == list.array.count else { throw t.badField(key, "a list of strings expected") }
                if let w = words.first(where: { $0.contains(" ") }) { throw t.badField(key, "\"\(w)\" contains a space") }
                // Empty is unset (`pkg` gives no options as {}).
                if !words.isEmpty { fields.append((field, .text(words.joined(separator: " ")), key)) }
                continue
            }
            guard let raw = LuaPackageFormat.Reader.raw(value) else { throw t.badField(key, "string expected, got \(value.typeName)") }
            // Empty is unset (`pkg` gives type "" when mount is to tell).
            if raw != .text("") { fields.append((field, raw, key)) }
        }
        return fields
    }

    static func checked<T>(_ t: LuaTableView, _ read: () throws(ConfigError) -> T) throws -> T {
        do throws(ConfigError) {
            return try read()
        } catch {
            throw ArgumentError(position: t.position, (error.attribute.isEmpty ? "" : "field '\(error.attribute)': ") + error.problem)
        }
    }

    static let argument = Source(file: "argument", line: 0)

    static func fileSystem(_ t: LuaTableView) throws -> FileSystem {
        for key in ["device", "directory"] { if case .nil = try t[key] { throw t.badField(key, "missing") } }
        let fields = try fields(t, [
            ("device", .fsDevice), ("directory", .fsDirectory), ("type", .fsType), ("mount_options", .fsMountOptions),
            ("umount_options", .fsUmountOptions), ("fsck_options", .fsFsckOptions),
        ])
        return try checked(t) { () throws(ConfigError) in
            try ConfigBuilder.item(fields, at: argument, names: { Attributes.attribute($0)?.native ?? "\($0)" }) { $0.fileSystems.first }
        }
    }

    static func export(_ t: LuaTableView) throws -> Export {
        if case .nil = try t["directory"] { throw t.badField("directory", "missing") }
        var table = LuaTable()
        for key in t.keys { table[key] = try t[key] }
        return try checked(t) { () throws(ConfigError) in try NativeExport.read(table, at: argument) }
    }

    static func address(_ t: LuaTableView) throws -> PackageAddress {
        if case .nil = try t["address"] { throw t.badField("address", "missing") }
        var fields = try fields(t, [("address", .ipAddress), ("interface", .ipInterface), ("subnet", .ipSubnet)])
        if let p = try t["prefix"].integerValue, case .text(let a)? = fields.first?.1, !a.contains("/") {
            fields[0].1 = .text("\(a)/\(p)")
        }
        return try checked(t) { () throws(ConfigError) in
            try ConfigBuilder.item(fields, at: argument, names: { Attributes.attribute($0)?.native ?? "\($0)" }) { $0.addresses.first }
        }
    }
}

extension LuaValue {
    var integerValue: Int? {
        switch self {
        case .integer(let i): return Int(i)
        case .number(let d) where d == d.rounded(): return Int(d)
        default: return nil
        }
    }
}
