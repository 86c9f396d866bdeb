import Foundation
import LuaRuntime
import PackageConfig
import Primitives

/// One primitive as the scripts see it: its name, how it is called, one
/// paragraph saying what it does, and the Swift that does it. The REPL's
/// `help(name)` and the README's primitive tables are made from the first
/// three (`hanfs doc primitives`).
struct Binding {
    let name: String
    let usage: String
    let doc: String
    let function: HostFunction

    init(_ name: String, _ usage: String, _ doc: String, _ function: @escaping HostFunction) {
        self.name = name
        self.usage = usage
        self.doc = doc
        self.function = function
    }
}

/// The primitives of one domain, mirroring Primitives/: storage, the NFS
/// server, addresses, lock migration, checks, inspection, the run itself.
struct BindingDomain {
    let title: String
    /// What holds for every primitive of the domain.
    let intro: String
    let bindings: [Binding]
}

/// A primitive's documentation, for help and the reference.
public struct PrimitiveDoc: Sendable, Equatable {
    public let domain: String
    /// What holds for every primitive of the domain.
    public let domainIntro: String
    public let name: String
    public let usage: String
    public let doc: String
}

/// What the primitives of every domain share: the node they act on, the
/// package whose settings are their defaults, and the services that keep
/// state between calls.
struct Bindings {
    let node: NodeContext
    /// The package's settings (the built-in defaults when none was loaded).
    let defaults: PackageConfiguration
    /// Whether a package was loaded (`pkg`).
    let package: PackageConfiguration?
    /// The hanfs binary, for the work that outlives a call.
    let hanfs: String
    /// Where the shipped scripts and the site's copies are.
    let installation: Installation
    let steps: RunReport
    let stop: StopSignal
    let vgs: VolumeGroups
    let fileSystems: FileSystems
    let kernelExports: Exports
    let addresses: Addresses
    let ganesha: Ganesha
    let statd: StatusDaemon
    let notification: CrashNotification

    init(
        node: NodeContext, package: PackageConfiguration?, hanfs: String, installation: Installation, steps: RunReport,
        stop: StopSignal
    ) {
        let c = package ?? PackageConfiguration()
        self.node = node
        self.defaults = c
        self.package = package
        self.hanfs = hanfs
        self.installation = installation
        self.steps = steps
        self.stop = stop
        vgs = VolumeGroups(node)
        fileSystems = FileSystems(node)
        kernelExports = Exports(node)
        addresses = Addresses(node, announcer: [hanfs, "announce"])
        ganesha = Ganesha(node, package: c, runtime: node.settings.runtime(c.name), log: c.ganeshaLogPath(in: node.settings.logDirectory))
        statd = StatusDaemon(node)
        notification = CrashNotification(node)
    }

    /// Every domain, in the order the reference lists them.
    var domains: [BindingDomain] {
        [basics, storage, nfsServer, addressDomain, lockMigration, checks, inspection, runtime]
    }

    /// A primitive's error as the script sees it.
    func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as PrimitiveError { throw HostError(e.description) }
    }

    func outcome(_ o: Outcome) -> LuaValue { .string(o.rawValue) }

    /// `true`, or `false` and why: the answer of a check, which never raises.
    func answer(_ call: LuaCall, _ why: String?) throws -> Int32 {
        guard let why else { return try call.push(true) }
        try call.push(false)
        return try call.push(.string(why)) + 1
    }

    /// The package, or an error saying a script needs one.
    func requirePackage() throws -> PackageConfiguration {
        guard let package else { throw HostError("no package loaded (--config)") }
        return package
    }
}

extension ScriptHost {
    /// Registers every domain's primitives, then `help` and the composite
    /// primitives written in Lua (stdlib/composites.lua), which call the
    /// overridable ones. Returns the documentation of each.
    func registerPrimitives(_ bindings: Bindings) throws -> [PrimitiveDoc] {
        var docs: [PrimitiveDoc] = []
        for domain in bindings.domains {
            for b in domain.bindings {
                lua.register(b.name, b.function)
                docs.append(PrimitiveDoc(domain: domain.title, domainIntro: domain.intro, name: b.name, usage: b.usage, doc: b.doc))
            }
        }
        lua.register("help_text") { call in
            let name = try call.string(1)
            // Folded when asked: every run makes a host, few ask for help.
            return try call.push(docs.first { $0.name == name }.map { .string("\($0.usage)\n\n\(Self.wrapped($0.doc, width: 76))") } ?? .nil)
        }
        let setup = RunLimits(deadline: 5)
        try lua.run("require 'composites'", chunkName: "=composites", limits: setup)
        try lua.run(Self.helpChunk(docs), chunkName: "=help", limits: setup)
        return docs
    }

    /// `help()` lists the primitives by domain; `help(mount)` or
    /// `help("mount")` prints one's usage and documentation.
    static func helpChunk(_ docs: [PrimitiveDoc]) -> String {
        var domains: [String] = []
        var names: [String: [String]] = [:]
        for d in docs {
            if names[d.domain] == nil { domains.append(d.domain) }
            names[d.domain, default: []].append(d.name)
        }
        let index = domains.map { "\($0): \(names[$0]!.joined(separator: ", "))" }.joined(separator: "\n")
        let list = docs.map { "\"\($0.name)\"" }.joined(separator: ", ")
        return """
            local text, names = help_text, { \(list) }
            local index = [==[
            \(index)

            help(name) says more: help(mount) or help("mount"). help(pkg): the package's fields.]==]
            local pkg_docs = { \(pkgDocs) }
            -- help(pkg): each field of the loaded package, its value, and what it is (hanfs.conf(5)).
            local function help_pkg()
              if type(pkg) ~= "table" then print("no package loaded: hanfs repl --config FILE") return end
              local function show(v)
                if type(v) ~= "table" then return tostring(v) end
                if #v > 0 then return #v .. " item(s)" end
                return next(v) == nil and "{}" or "{...}"
              end
              local function list(t, prefix)
                local keys = {}
                for k in pairs(t) do keys[#keys + 1] = k end
                table.sort(keys)
                for _, k in ipairs(keys) do
                  local path, v = prefix .. "." .. k, t[k]
                  if type(v) == "table" and #v == 0 and next(v) ~= nil then list(v, path)
                  else print(("%-40s %-22s %s"):format(path, show(v), pkg_docs[path:sub(5)] or "")) end
                end
              end
              list(pkg, "pkg")
            end
            local by_function = {}
            for _, name in ipairs(names) do
              local t, key = _G, name
              for part, rest in name:gmatch("([^.]+)(%.?)") do
                if rest == "" then key = part else t = rawget(t, part) end
              end
              local f = t and rawget(t, key)
              if f then by_function[f] = name end
            end
            help_text = nil
            function help(what)
              if what == nil then print(index) return end
              if what == "pkg" or (what ~= nil and what == rawget(_G, "pkg")) then help_pkg() return end
              local name = by_function[what] or what
              local doc = type(name) == "string" and text(name)
              if not doc then
                error(tostring(what) .. " is not a primitive: help() lists them", 2)
              end
              print(doc)
            end
            """
    }

    /// What each field of `pkg` is, by its path (`monitor.interval`), from
    /// the attribute table: a Lua table constructor's fields. Made once per
    /// process: every run builds a host.
    static let pkgDocs: String = {
        var docs: [String: String] = [
            "volume_groups": "The volume groups it activates.", "filesystems": "Its file systems: {device, directory, type, ...}.",
            "exports": "Its exports: {directory, clients, options, fsid}.", "addresses": "Its addresses: {address, prefix, interface, subnet}.",
            "name": "The package's name.", "file": "The package file it was read from.",
            "concurrency.fsck": Attributes.attribute(.fsckConcurrency)?.doc ?? "",
            "concurrency.mount": Attributes.attribute(.mountConcurrency)?.doc ?? "",
            "retries.mount": Attributes.attribute(.mountRetries)?.doc ?? "", "retries.umount": Attributes.attribute(.umountRetries)?.doc ?? "",
            "arp.count": Attributes.attribute(.arpCount)?.doc ?? "", "arp.interval": Attributes.attribute(.arpInterval)?.doc ?? "",
        ]
        for a in Attributes.all {
            guard let native = a.native, native.hasPrefix("package.") else { continue }
            docs[String(native.dropFirst("package.".count))] = a.doc
        }
        return docs.sorted { $0.key < $1.key }.map { "[\"\($0.key)\"] = [==[\($0.value)]==]" }.joined(separator: ", ")
    }()

    /// Text folded at spaces to lines of at most `width` characters.
    static func wrapped(_ text: String, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    /// The primitive tables of the README (`hanfs doc primitives`): one per domain.
    public static func primitiveReference(_ docs: [PrimitiveDoc]) -> String {
        var text = ""
        var domain: String?
        for d in docs {
            if d.domain != domain {
                domain = d.domain
                text += "\n#### \(d.domain)\n\n"
                if !d.domainIntro.isEmpty { text += d.domainIntro + "\n\n" }
                text += "| primitive | what it does |\n|---|---|\n"
            }
            text += "| `\(d.usage.replacingOccurrences(of: "|", with: "\\|"))` | \(d.doc.replacingOccurrences(of: "|", with: "\\|")) |\n"
        }
        return text
    }
}
