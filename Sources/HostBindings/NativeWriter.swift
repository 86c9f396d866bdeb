import Foundation
import PackageConfig

/// A package as a native Lua package file (`hanfs import` writes it): what
/// differs from the defaults, under the names the attribute table gives
/// (`package.monitor.interval` is `monitor = { interval = ... }`), then the
/// VGs, file systems, exports and addresses. Read back, it is the same
/// package; a test walks the attribute table to prove it.
public enum NativeWriter {
    /// A value as Lua writes it.
    enum Literal: Equatable {
        case text(String), number(Double), integer(Int), flag(Bool)

        var lua: String {
            switch self {
            case .text(let s): quoted(s)
            case .number(let d): String(seconds: d)
            case .integer(let i): String(i)
            case .flag(let b): b ? "true" : "false"
            }
        }
    }

    /// A string in double quotes, as Lua and JSON both read it: quote,
    /// backslash, newline, carriage return and tab escaped by letter, any
    /// other control character by `control` (Lua's `\ddd` by default).
    static func quoted(_ s: String, control: (UInt32) -> String = { String(format: "\\%03d", $0) }) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7F: out += control(u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A package-wide field's value in the model; nil for the per-item ones
    /// and those the native format has no name for (said by `leftOut`).
    static func value(_ field: Field, _ c: PackageConfiguration) -> Literal? {
        switch field {
        case .packageName: .text(c.name)
        case .vgOwnership: .text(c.vgOwnership.rawValue)
        case .vgActivationRetries: .integer(c.vgActivationRetries)
        case .vgDeactivationRetries: .integer(c.vgDeactivationRetries)
        case .fsckPolicy: .text(c.fsckPolicy.rawValue)
        case .fsckConcurrency: .integer(c.fsckConcurrency)
        case .mountConcurrency: .integer(c.mountConcurrency)
        case .mountRetries: .integer(c.mountRetries)
        case .umountRetries: .integer(c.umountRetries)
        case .timeout(let step): .number(c.timeouts[step] ?? 0)
        case .arpCount: .integer(c.arpCount)
        case .arpInterval: .number(c.arpInterval)
        case .dadTimeout: .number(c.dadTimeout)
        case .reconnectClients: .flag(c.reconnectClients)
        case .logFile: .text(c.logFile)
        case .syslog: .flag(c.syslog)
        case .syslogFacility: .text(c.syslogFacility)
        case .syslogIdentity: .text(c.syslogIdentity)
        case .hooksFile: .text(c.hooksFile)
        case .lockMigration: .flag(c.lockMigration.enabled)
        case .holdingDirectory: .text(c.lockMigration.holdingDirectory)
        case .propagateInterval: .number(c.lockMigration.propagateInterval)
        case .statmonWaitTime: .number(c.lockMigration.statmonWaitTime)
        case .smDirectory: .text(c.lockMigration.smDirectory)
        case .notifyRetryMinutes: .integer(c.lockMigration.notifyRetryMinutes)
        case .lockRestart: .text(c.lockMigration.restart.rawValue)
        case .syncMonitor: .flag(c.lockMigration.monitorSync)
        case .syncRestarts: .integer(c.lockMigration.syncRestarts)
        case .monitorInterval: .number(c.monitor.interval)
        case .quotaMonitor: .flag(c.monitor.quota)
        case .monitorRetries: .integer(c.monitor.retries)
        case .lockdRetries: c.monitor.lockdRetries.map { .integer($0) }
        case .rpcbindRetries: c.monitor.rpcbindRetries.map { .integer($0) }
        case .netids: .text(c.monitor.netids.joined(separator: " "))
        case .maintenanceFile: .text(c.monitor.maintenanceFile.isEmpty && !c.toolkitDirectory.isEmpty
            ? c.toolkitDirectory + "/nfs.debug" : c.monitor.maintenanceFile)
        case .maintenanceFlag: .flag(c.monitor.maintenance)
        case .monitorServices: .text(c.monitor.services.joined(separator: ","))
        case .monitorRun: .flag(c.monitor.run)
        case .monitorProbe: .flag(c.monitor.probe)
        case .nfsServer: .text(c.nfsServer.rawValue)
        case .ganeshaGracePeriod: .number(c.ganesha.gracePeriod)
        case .ganeshaLeaseLifetime: .number(c.ganesha.leaseLifetime)
        case .ganeshaRecoveryDirectory: .text(c.ganesha.recoveryDirectory.isEmpty ? c.nfsv4HoldingDirectory : c.ganesha.recoveryDirectory)
        case .ganeshaStopTimeout: .number(c.ganesha.stopTimeout)
        case .kernelManage: .flag(c.kernel.manage)
        case .kernelThreads: .integer(c.kernel.threads)
        case .kernelGraceTime: .number(c.kernel.graceTime)
        case .kernelNLMGraceTime: .number(c.kernel.nlmGraceTime)
        case .kernelLeaseTime: .number(c.kernel.leaseTime)
        case .kernelScope: .text(c.kernel.scope)
        case .kernelRecoveryDirectory: .text(c.kernel.recoveryDirectory.isEmpty ? c.nfsv4HoldingDirectory : c.kernel.recoveryDirectory)
        // In the items, or with no native name: carried by the fields above, or said.
        case .volumeGroup, .fsDevice, .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions,
            .ipSubnet, .ipAddress, .ipInterface, .export, .monitorService, .monitorServiceRestart, .toolkitDirectory,
            .nfsv4HoldingDirectory, .accepted, .ignored:
            nil
        }
    }

    /// What the native file cannot say of this package, in words.
    public static func leftOut(_ c: PackageConfiguration) -> [String] {
        var out: [String] = []
        if !c.monitor.serviceName.isEmpty {
            out.append("NFS_SERVICE_NAME \(c.monitor.serviceName) (with NFS_SERVICE_RESTART \(c.monitor.serviceRestart.joined(separator: " "))): "
                + "the monitor is Serviceguard's service there; under Pacemaker the agent's monitor action checks the package "
                + "(monitor.run = true starts hanfs's own monitor with the package instead)")
        }
        for fs in c.fileSystems where !fs.mountOptions.isEmpty && fs.mountOptions.first != "-o" {
            out.append("file system \(fs.directory): mount options \(fs.mountOptions.joined(separator: " ")) do not begin with -o: set options by hand")
        }
        return out
    }

    public static func render(_ c: PackageConfiguration, header: String) -> String {
        let defaults = PackageConfiguration()
        var fields: [(path: [String], literal: Literal)] = []
        for a in Attributes.all {
            guard let native = a.native, native.hasPrefix("package."), let v = value(a.field, c) else { continue }
            if a.field != .packageName, let d = value(a.field, defaults), d == v { continue }
            if case .text("") = v { continue }
            fields.append((native.split(separator: ".").dropFirst().map(String.init), v))
        }
        var text = header.split(separator: "\n", omittingEmptySubsequences: false).map { "-- \($0)" }.joined(separator: "\n") + "\n"
        text += "package {\n"
        var groups: [String] = []
        for f in fields where !groups.contains(f.path[0]) { groups.append(f.path[0]) }
        for group in groups {
            let members = fields.filter { $0.path[0] == group }
            if members.count == 1, members[0].path.count == 1 {
                text += "  \(group) = \(members[0].literal.lua),\n"
            } else {
                text += "  \(group) = { " + members.map { "\($0.path.dropFirst().joined(separator: ".")) = \($0.literal.lua)" }.joined(separator: ", ") + " },\n"
            }
        }
        text += "}\n"
        for vg in c.volumeGroups { text += "vg \(quoted(vg.name))\n" }
        for fs in c.fileSystems { text += fileSystem(fs) }
        for e in c.exports { text += export(e) }
        for a in c.addresses {
            var parts = ["address = \(quoted(a.address.description + (a.prefix.map { "/\($0)" } ?? "")))"]
            if let s = a.subnet { parts.append("subnet = \(quoted(s.description))") }
            if let i = a.interface { parts.append("interface = \(quoted(i))") }
            text += "address { " + parts.joined(separator: ", ") + " }\n"
        }
        return text
    }

    static func fileSystem(_ fs: FileSystem) -> String {
        var parts = ["device = \(quoted(fs.device))", "directory = \(quoted(fs.directory))"]
        if !fs.type.isEmpty { parts.append("type = \(quoted(fs.type))") }
        if fs.mountOptions.first == "-o", fs.mountOptions.count > 1 {
            parts.append("options = \(quoted(fs.mountOptions.dropFirst().joined(separator: " ")))")
        }
        if !fs.umountOptions.isEmpty { parts.append("umount_options = \(quoted(fs.umountOptions.joined(separator: " ")))") }
        if !fs.fsckOptions.isEmpty { parts.append("fsck_options = \(quoted(fs.fsckOptions.joined(separator: " ")))") }
        return "filesystem { " + parts.joined(separator: ", ") + " }\n"
    }

    static func export(_ e: Export) -> String {
        var parts = ["directory = \(quoted(e.directory))", "clients = \(quoted(e.clients))"]
        if !e.options.isEmpty { parts.append("options = \(quoted(e.options.joined(separator: ",")))") }
        switch e.fsid {
        case .number(let n)?: parts.append("fsid = \(n)")
        case let other?: parts.append("fsid = \(quoted(other.description))")
        case nil: break
        }
        return "export { " + parts.joined(separator: ", ") + " }\n"
    }
}

extension NativeWriter {
    /// The control script's customer_defined_run_cmds and _halt_cmds as site
    /// hooks (stdlib/plan.lua): one step after the package's last part, its
    /// start the run commands (after the package is up, as the control
    /// script ran them), its stop the halt commands (first, before the
    /// package goes). A plain command becomes `run{...}`, an argv; the
    /// toolkit's own idioms are dropped (its lock migration is a part of the
    /// package); any other shell stays as a comment and is said in `leftOut`.
    /// Nil when there is no command to carry.
    public static func hooks(
        run: [(line: String, at: Source)], halt: [(line: String, at: Source)], from script: String, leftOut: inout [String]
    ) -> String? {
        func body(_ lines: [(line: String, at: Source)]) -> (text: String, commands: Int) {
            var text = "", commands = 0
            for (raw, at) in lines {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") || line == ":" || line.hasPrefix(": ") || line.hasPrefix("test_return") { continue }
                if line.contains("HA_APP_SCRIPT") || line.contains("hanfs.sh") {
                    leftOut.append("\(at): \(line): the toolkit's own call; lock migration is a part of the package (LOCK_MIGRATION)")
                    continue
                }
                if let argv = plainCommand(line) {
                    text += "    run{ " + argv.map { quoted($0) }.joined(separator: ", ") + " }\n"
                    commands += 1
                } else {
                    text += "    -- not carried over (shell), \(at): \(line)\n"
                    leftOut.append("\(at): \(line): shell, not a plain command: written as a comment in the hooks, to port to Lua")
                }
            }
            return (text, commands)
        }
        let start = body(run), stop = body(halt)
        guard start.commands + stop.commands > 0 || !start.text.isEmpty || !stop.text.isEmpty else { return nil }
        return """
            -- Site hooks made by `hanfs import` from \(script): its customer_defined_run_cmds
            -- run once the package is up, its customer_defined_halt_cmds before it stops.
            local plan = require "plan"
            plan.after("monitor", "the control script's customer defined commands",
              function(pkg)
            \(start.text)  end,
              function(pkg)
            \(stop.text)  end)

            """
    }

    /// A command line with no shell in it (no expansion, redirection, pipe,
    /// list or glob; simple quotes allowed) as its argv; nil otherwise.
    static func plainCommand(_ line: String) -> [String]? {
        var argv: [String] = [], word = "", quote: Character?, inWord = false
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil } else if q == "\"" && (ch == "$" || ch == "`" || ch == "\\") { return nil } else { word.append(ch) }
                continue
            }
            switch ch {
            case "\"", "'": quote = ch; inWord = true
            case " ", "\t":
                if inWord { argv.append(word); word = ""; inWord = false }
            case "$", "`", "|", "&", ";", "<", ">", "(", ")", "{", "}", "*", "?", "[", "]", "~", "\\", "#":
                return nil
            default: word.append(ch); inWord = true
            }
        }
        guard quote == nil else { return nil }
        if inWord { argv.append(word) }
        let keywords: Set<String> = ["if", "then", "else", "elif", "fi", "for", "while", "do", "done", "case", "esac", "function", "return", "exit", "export", "local", "cd"]
        guard let first = argv.first, !keywords.contains(first), !first.contains("=") else { return nil }
        return argv
    }
}
