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
        t["arp"] = .table(LuaTable(fields: ["count": .integer(Int64(c.arpCount)), "interval": .number(c.arpInterval)]))
        t["dad_timeout"] = .number(c.dadTimeout)
        t["nfs_server"] = .string(c.nfsServer.rawValue)
        t["hooks_file"] = .string(c.hooksFile)
        t["ganesha"] = .table(LuaTable(fields: [
            "grace_period": .number(c.ganesha.gracePeriod), "lease_lifetime": .number(c.ganesha.leaseLifetime),
            "recovery_dir": .string(c.ganeshaRecoveryDirectory), "stop_timeout": .number(c.ganesha.stopTimeout),
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
            "maintenance_file": .string(c.monitor.maintenanceFile.isEmpty
                ? "\(settings.runDirectory)/\(c.name).maintenance" : c.monitor.maintenanceFile),
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
                "fsid": .string(e.fsid), "line": .integer(Int64(e.source.line)),
            ]))
    }

    static func table(_ a: PackageAddress) -> LuaValue {
        var t = LuaTable(fields: ["address": .string(a.address), "line": .integer(Int64(a.source.line))])
        if let p = a.prefix { t["prefix"] = .integer(Int64(p)) }
        if let i = a.interface { t["interface"] = .string(i) }
        if let s = a.subnet { t["subnet"] = .string(s) }
        return .table(t)
    }

    // MARK: the way back, checked as a package file is

    static func string(_ t: LuaTableView, _ key: String, required: Bool = false) throws -> String? {
        switch try t[key] {
        case .nil:
            if required { throw t.badField(key, "missing") }
            return nil
        case .string(let s): return s
        case .integer(let i): return String(i)
        case let v: throw t.badField(key, "string expected, got \(v.typeName)")
        }
    }

    /// A list of words: a table of strings, or one string split on spaces.
    static func words(_ t: LuaTableView, _ key: String) throws -> String? {
        switch try t[key] {
        case .nil: return nil
        case .string(let s): return s
        case .table(let list) where list.fields.isEmpty:
            let words = list.array.compactMap(\.stringValue)
            guard words.count == list.array.count else { throw t.badField(key, "a list of strings expected") }
            if let w = words.first(where: { $0.contains(" ") }) { throw t.badField(key, "\"\(w)\" contains a space") }
            return words.joined(separator: " ")
        case let v: throw t.badField(key, "a list of strings expected, got \(v.typeName)")
        }
    }

    static func checked<T>(_ t: LuaTableView, _ build: (inout ConfigBuilder) -> Void, _ pick: (PackageConfiguration) -> T?) throws -> T {
        var b = ConfigBuilder(file: "argument", names: LuaPackageFormat.name)
        b.set(.packageName, "check", attribute: "", at: Source(file: "argument", line: 0))
        build(&b)
        do {
            let c = try b.finish()
            guard let item = pick(c) else { throw ArgumentError(position: t.position, "incomplete") }
            return item
        } catch let errors as ConfigErrors {
            let e = errors.errors[0]
            throw ArgumentError(position: t.position, (e.attribute.isEmpty ? "" : "field '\(e.attribute)': ") + e.problem)
        }
    }

    static func fileSystem(_ t: LuaTableView) throws -> FileSystem {
        let fields: [(String, Field)] = [
            ("device", .fsDevice), ("directory", .fsDirectory), ("type", .fsType), ("mount_options", .fsMountOptions),
            ("umount_options", .fsUmountOptions), ("fsck_options", .fsFsckOptions),
        ]
        var values: [(Field, String, String)] = []
        for (key, field) in fields {
            let v = key.hasSuffix("options") ? try words(t, key) : try string(t, key, required: key == "device" || key == "directory")
            // Empty is unset (`pkg` gives type "" when mount is to tell).
            if let v, !v.isEmpty { values.append((field, v, key)) }
        }
        return try checked(t, { b in
            for (f, v, k) in values { b.set(f, v, attribute: k, at: Source(file: "argument", line: 0)) }
        }, { $0.fileSystems.first })
    }

    static func export(_ t: LuaTableView) throws -> Export {
        let directory = try string(t, "directory", required: true)!
        let clients = try string(t, "clients") ?? "*"
        var options = try string(t, "options") ?? ""
        if let fsid = try string(t, "fsid") { options += (options.isEmpty ? "" : ",") + "fsid=\(fsid)" }
        let spec = (options.isEmpty ? "" : "-o \(options) ") + "\(clients):\(directory)"
        return try checked(t, { $0.set(.export, spec, attribute: "", at: Source(file: "argument", line: 0)) }, { $0.exports.first })
    }

    static func address(_ t: LuaTableView) throws -> PackageAddress {
        var address = try string(t, "address", required: true)!
        if let p = try t["prefix"].integerValue, !address.contains("/") { address += "/\(p)" }
        let interface = try string(t, "interface")
        let subnet = try string(t, "subnet")
        return try checked(t, { b in
            let at = Source(file: "argument", line: 0)
            b.set(.ipAddress, address, attribute: "address", at: at)
            if let interface { b.set(.ipInterface, interface, attribute: "interface", at: at) }
            if let subnet { b.set(.ipSubnet, subnet, attribute: "subnet", at: at) }
        }, { $0.addresses.first })
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
