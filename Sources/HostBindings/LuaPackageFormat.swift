import LuaRuntime
import PackageConfig

/// The native package file: Lua that declares the package, one call per part,
/// so every mistake can be named by its line:
///
///     package { name = "nfspkg", mount_concurrency = 4 }
///     vg "vg01"
///     filesystem { device = "/dev/vg01/lv1", directory = "/srv/nfs/a", type = "ext4", options = "noatime" }
///     export { directory = "/srv/nfs/a", clients = "*", options = "rw,sync", fsid = 101 }
///     address { address = "192.0.2.10/24", interface = "eth1" }
///
/// It runs in the same sandbox as the scripts, without the primitives:
/// reading it changes nothing.
enum LuaPackageFormat {
    /// Each declaration's fields and what they set.
    static let packageFields: [String: Field] = [
        "name": .packageName, "vg_ownership": .vgOwnership, "run_fsck": .fsckPolicy, "fsck_concurrency": .fsckConcurrency,
        "mount_concurrency": .mountConcurrency, "mount_retries": .mountRetries, "umount_retries": .umountRetries,
        "arp_count": .arpCount, "arp_interval": .arpInterval, "dad_timeout": .dadTimeout, "log_file": .logFile,
        "nfs_server": .nfsServer, "hooks_file": .hooksFile,
    ]
    static let ganeshaFields: [String: Field] = [
        "grace_period": .ganeshaGracePeriod, "lease_lifetime": .ganeshaLeaseLifetime, "recovery_dir": .ganeshaRecoveryDirectory,
        "stop_timeout": .ganeshaStopTimeout,
    ]
    static let lockMigrationFields: [String: Field] = [
        "enabled": .lockMigration, "holding_dir": .holdingDirectory, "propagate_interval": .propagateInterval,
        "statmon_waittime": .statmonWaitTime, "sm_dir": .smDirectory, "notify_retry_minutes": .notifyRetryMinutes,
        "restart": .lockRestart,
    ]
    static let monitorFields: [String: Field] = [
        "interval": .monitorInterval, "quota": .quotaMonitor, "retries": .monitorRetries,
        "maintenance_file": .maintenanceFile, "services": .monitorServices, "run": .monitorRun, "probe": .monitorProbe,
    ]
    static let fileSystemFields: [String: Field] = [
        "device": .fsDevice, "directory": .fsDirectory, "type": .fsType, "options": .fsMountOptions,
        "umount_options": .fsUmountOptions, "fsck_options": .fsFsckOptions,
    ]
    static let addressFields: [String: Field] = [
        "address": .ipAddress, "interface": .ipInterface, "subnet": .ipSubnet,
    ]

    static func name(_ field: Field) -> String {
        for (prefix, table) in [
            ("package.", packageFields), ("package.lock_migration.", lockMigrationFields),
            ("package.monitor.", monitorFields), ("package.ganesha.", ganeshaFields), ("filesystem.", fileSystemFields),
            ("address.", addressFields),
        ] {
            if let k = table.first(where: { "\($0.value)" == "\(field)" })?.key { return prefix + k }
        }
        if case .timeout(let step) = field { return "package.timeouts.\(step)" }
        if case .export = field { return "export" }
        if case .volumeGroup = field { return "vg" }
        return "\(field)"
    }

    /// Collects what the file declares.
    final class Reader {
        var builder: ConfigBuilder
        let file: String
        var fileSystems = 0
        var addresses = 0
        var packages = 0

        init(file: String) {
            self.file = file
            builder = ConfigBuilder(file: file, names: LuaPackageFormat.name)
        }

        func source(_ call: LuaCall) -> Source {
            let line = call.callerPosition.flatMap { $0.split(separator: ":").last.flatMap { Int($0) } } ?? 0
            return Source(file: file, line: line)
        }

        /// A field's value as the builder reads it.
        func text(_ v: LuaValue) -> String? {
            switch v {
            case .string(let s): return s
            case .integer(let i): return String(i)
            case .number(let d): return String(d)
            case .boolean(let b): return b ? "yes" : "no"
            default: return nil
            }
        }

        /// Sets every field of `t` that `fields` knows; anything else is an error.
        func apply(
            _ t: LuaTable, _ fields: [String: Field], _ what: String, index: Int = 0, at s: Source,
            nested: [String: ([String: Field], String)] = [:], transform: [String: (String) -> String] = [:]
        ) {
            if !t.array.isEmpty { builder.fail(ConfigError(s, what, "takes named fields only (name = value)")) }
            for key in t.fields.keys.sorted() {
                let value = t.fields[key]!
                if let (inner, name) = nested[key] {
                    guard case .table(let sub) = value else {
                        builder.fail(ConfigError(s, "\(what).\(key)", "a table expected, got \(value.typeName)"))
                        continue
                    }
                    apply(sub, inner, "\(what).\(name)", index: index, at: s)
                    continue
                }
                guard let field = fields[key] else {
                    builder.fail(ConfigError(s, "\(what).\(key)", "unknown field"))
                    continue
                }
                guard let text = text(value) else {
                    builder.fail(ConfigError(s, "\(what).\(key)", "a string or number expected, got \(value.typeName)"))
                    continue
                }
                builder.set(field, transform[key].map { $0(text) } ?? text, attribute: "\(what).\(key)", index: index, at: s)
            }
        }

        func table(_ call: LuaCall, _ what: String) throws -> LuaTable {
            guard call.count == 1, case .table(let t) = try call.value(1) else {
                throw HostError("\(what) takes one table: \(what) { field = value, ... }")
            }
            return t
        }

        func register(in lua: LuaState) {
            let timeoutFields = Dictionary(uniqueKeysWithValues: StepTimeouts.names.map { ($0, Field.timeout($0)) })
            lua.register("package") { call in
                let t = try self.table(call, "package")
                let s = self.source(call)
                self.packages += 1
                if self.packages > 1 { self.builder.fail(ConfigError(s, "package", "declared twice: one package per file")) }
                self.apply(
                    t, LuaPackageFormat.packageFields, "package", at: s,
                    nested: [
                        "timeouts": (timeoutFields, "timeouts"),
                        "lock_migration": (LuaPackageFormat.lockMigrationFields, "lock_migration"),
                        "monitor": (LuaPackageFormat.monitorFields, "monitor"),
                        "ganesha": (LuaPackageFormat.ganeshaFields, "ganesha"),
                    ])
                if t.fields["name"] == nil { self.builder.fail(ConfigError(s, "package.name", "missing")) }
                return 0
            }
            lua.register("vg") { call in
                let s = self.source(call)
                guard call.count == 1, let name = call.optionalString(1, converting: false) else {
                    throw HostError("vg takes a name: vg \"vg01\"")
                }
                self.builder.set(.volumeGroup, name, attribute: "vg", at: s)
                return 0
            }
            lua.register("filesystem") { call in
                let t = try self.table(call, "filesystem")
                let s = self.source(call)
                for required in ["device", "directory"] where t.fields[required] == nil {
                    self.builder.fail(ConfigError(s, "filesystem.\(required)", "missing"))
                }
                self.apply(
                    t, LuaPackageFormat.fileSystemFields, "filesystem", index: self.fileSystems, at: s,
                    transform: ["options": { "-o \($0)" }])
                self.fileSystems += 1
                return 0
            }
            lua.register("export") { call in
                let t = try self.table(call, "export")
                let s = self.source(call)
                let known: Set<String> = ["directory", "clients", "options", "fsid"]
                for key in t.fields.keys.sorted() where !known.contains(key) {
                    self.builder.fail(ConfigError(s, "export.\(key)", "unknown field"))
                }
                guard let directory = t.fields["directory"].flatMap(self.text) else {
                    self.builder.fail(ConfigError(s, "export.directory", "missing"))
                    return 0
                }
                // The same reading as an XFS entry: `-o options,fsid=N clients:directory`.
                var options = t.fields["options"].flatMap(self.text) ?? ""
                if let fsid = t.fields["fsid"].flatMap(self.text) {
                    options += (options.isEmpty ? "" : ",") + "fsid=\(fsid)"
                }
                let clients = t.fields["clients"].flatMap(self.text) ?? "*"
                do throws(ConfigError) {
                    _ = try ExportSpec.clientSpec(clients, "export.clients", s)
                } catch {
                    self.builder.fail(error)
                    return 0
                }
                let spec = (options.isEmpty ? "" : "-o \(options) ") + "\(clients):\(directory)"
                if directory.contains(" ") || clients.contains(" ") || options.contains(" ") {
                    self.builder.fail(ConfigError(s, "export", "spaces are not allowed in a directory, client spec or options"))
                    return 0
                }
                self.builder.set(.export, spec, attribute: "export", at: s)
                return 0
            }
            lua.register("address") { call in
                let t = try self.table(call, "address")
                let s = self.source(call)
                if t.fields["address"] == nil { self.builder.fail(ConfigError(s, "address.address", "missing")) }
                self.apply(t, LuaPackageFormat.addressFields, "address", index: self.addresses, at: s)
                self.addresses += 1
                return 0
            }
        }
    }

    static func load(_ path: String, installation: Installation) throws(ConfigErrors) -> PackageConfiguration {
        let reader = Reader(file: path)
        do {
            let lua = try LuaState()
            // A package file has no business with finalizers: they get little time.
            lua.closeDeadline = 2
            lua.setModuleDirectories(installation.moduleDirectories)
            reader.register(in: lua)
            try lua.runFile(path, chunkName: path, limits: RunLimits(deadline: 10, memory: 64 << 20))
        } catch let error as ScriptError {
            // `path:12: message` → line 12, message.
            var message = Substring(error.message)
            var line = 0
            if message.hasPrefix(path + ":") {
                let rest = message.dropFirst(path.count + 1)
                if let n = Int(rest.prefix { $0.isNumber }) {
                    line = n
                    message = rest.drop { $0.isNumber }.drop { $0 == ":" || $0 == " " }
                } else {
                    message = rest.drop { $0 == " " }
                }
            }
            // Lua names no line for a precompiled chunk: it is the first byte.
            if line == 0 && message.contains("attempt to load a binary chunk") {
                line = 1
                message = "a binary (precompiled) chunk: a package file is Lua text"
            }
            throw ConfigErrors([ConfigError(Source(file: path, line: line), "", String(message))])
        } catch {
            throw ConfigErrors([ConfigError(Source(file: path, line: 0), "", "\(error)")])
        }
        return try reader.builder.finish()
    }
}

/// Reads a package file of any of the three formats: `.lua` is the native
/// one; anything else is told by its content (see `TextFormats`).
public enum PackageLoader {
    public static func load(_ path: String, installation: Installation) throws(ConfigErrors) -> PackageConfiguration {
        if path.hasSuffix(".lua") { return try LuaPackageFormat.load(path, installation: installation) }
        return try TextFormats.load(path)
    }
}
