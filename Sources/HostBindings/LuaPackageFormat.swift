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
    /// Each declaration's fields and what they set, from the attribute
    /// table's native names (`package.monitor.interval` is `interval` in
    /// `package{monitor = {...}}`).
    static func fields(_ prefix: String) -> [String: Field] {
        Dictionary(
            Attributes.all.compactMap { a in
                guard let native = a.native, native.hasPrefix(prefix) else { return nil }
                let key = native.dropFirst(prefix.count)
                return key.contains(".") ? nil : (String(key), a.field)
            }, uniquingKeysWith: { a, _ in a })
    }
    static let packageFields = fields("package.")
    static let ganeshaFields = fields("package.ganesha.")
    static let kernelFields = fields("package.kernel.")
    static let lockMigrationFields = fields("package.lock_migration.")
    static let monitorFields = fields("package.monitor.")
    static let timeoutFields = fields("package.timeouts.")
    static let fileSystemFields = fields("filesystem.")
    static let addressFields = fields("address.")

    /// A field's name in the native format, for messages.
    static func name(_ field: Field) -> String {
        Attributes.attribute(field)?.native ?? "\(field)"
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
            Source(file: file, line: call.callerLine)
        }

        /// A field's value as it is: the attribute's kind reads it.
        static func raw(_ v: LuaValue) -> RawValue? {
            switch v {
            case .string(let s): return .text(s)
            case .integer(let i): return Int(exactly: i).map { .integer($0) }
            case .number(let d): return .number(d)
            case .boolean(let b): return .boolean(b)
            default: return nil
            }
        }

        /// Sets every field of `t` that `fields` knows; anything else is an error.
        func apply(
            _ t: LuaTable, _ fields: [String: Field], _ what: String, index: Int = 0, at s: Source,
            nested: [String: ([String: Field], String)] = [:], transform: [String: (String) -> String] = [:]
        ) {
            let what = what
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
                guard var raw = Self.raw(value) else {
                    builder.fail(ConfigError(s, "\(what).\(key)", "a string, number or boolean expected, got \(value.typeName)"))
                    continue
                }
                if let transform = transform[key], case .text(let text) = raw { raw = .text(transform(text)) }
                builder.set(field, raw, attribute: "\(what).\(key)", index: index, at: s)
            }
        }

        func table(_ call: LuaCall, _ what: String) throws -> LuaTable {
            guard call.count == 1, case .table(let t) = try call.value(1) else {
                throw HostError("\(what) takes one table: \(what) { field = value, ... }")
            }
            return t
        }

        func register(in lua: LuaState) {
            lua.register("package") { call in
                let t = try self.table(call, "package")
                let s = self.source(call)
                self.packages += 1
                if self.packages > 1 { self.builder.fail(ConfigError(s, "package", "declared twice: one package per file")) }
                self.apply(
                    t, LuaPackageFormat.packageFields, "package", at: s,
                    nested: [
                        "timeouts": (LuaPackageFormat.timeoutFields, "timeouts"),
                        "lock_migration": (LuaPackageFormat.lockMigrationFields, "lock_migration"),
                        "monitor": (LuaPackageFormat.monitorFields, "monitor"),
                        "ganesha": (LuaPackageFormat.ganeshaFields, "ganesha"),
                        "kernel": (LuaPackageFormat.kernelFields, "kernel"),
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
                do throws(ConfigError) {
                    self.builder.add([try NativeExport.read(t, at: s)])
                } catch {
                    self.builder.fail(error, field: .export)
                }
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

/// `export{directory, clients, options, fsid}` read straight into an
/// Export, as the package file and a script's argument both give it.
enum NativeExport {
    static let known: Set<String> = ["directory", "clients", "options", "fsid", "line"]

    static func read(_ t: LuaTable, at s: Source) throws(ConfigError) -> Export {
        if let unknown = t.fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(s, "export.\(unknown)", "unknown field")
        }
        func text(_ key: String) throws(ConfigError) -> String? {
            switch t.fields[key] {
            case nil: return nil
            case .string(let v)?: return v
            case let v?: throw ConfigError(s, "export.\(key)", "a string expected, got \(v.typeName)")
            }
        }
        guard let directory = try text("directory") else { throw ConfigError(s, "export.directory", "missing") }
        let options = try text("options").flatMap { $0.isEmpty ? nil : $0 }
        let fsid = t.fields["fsid"].flatMap(LuaPackageFormat.Reader.raw)
        if let value = t.fields["fsid"], fsid == nil { throw ConfigError(s, "export.fsid", "a number or a UUID expected, got \(value.typeName)") }
        return try ExportSpec.export(
            directory: directory, clients: try text("clients") ?? "*", options: options, fsid: fsid, "export", s)
    }
}
