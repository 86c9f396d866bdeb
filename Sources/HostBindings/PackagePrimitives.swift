import Foundation
import LuaRuntime
import PackageConfig
import Primitives

/// The options table a primitive takes last: only known keys, each checked.
struct PrimitiveOptions {
    let view: LuaTableView?

    init(_ call: LuaCall, _ index: Int32, known: Set<String>) throws {
        guard !call.isNil(index) else {
            view = nil
            return
        }
        let t = try call.table(index)
        if let unknown = t.keys.sorted().first(where: { !known.contains($0) }) {
            throw t.badField(unknown, "unknown option; known: \(known.sorted().joined(separator: ", "))")
        }
        view = t
    }

    func number(_ key: String, _ fallback: Double, minimum: Double = 0) throws -> Double {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .integer(let i) where Double(i) >= minimum: return Double(i)
        case .number(let d) where d >= minimum && d.isFinite: return d
        case let v: throw t.badField(key, "a number of at least \(minimum) expected, got \(v.typeName)")
        }
    }

    func integer(_ key: String, _ fallback: Int, minimum: Int = 0) throws -> Int {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .integer(let i) where i >= minimum: return Int(i)
        case let v: throw t.badField(key, "a whole number of at least \(minimum) expected, got \(v.typeName)")
        }
    }

    func boolean(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .boolean(let b): return b
        case let v: throw t.badField(key, "boolean expected, got \(v.typeName)")
        }
    }

    func string(_ key: String) throws -> String? {
        guard let t = view else { return nil }
        switch try t[key] {
        case .nil: return nil
        case .string(let s) where !s.utf8.contains(0): return s
        case .string: throw t.badField(key, "a string with a NUL byte")
        case let v: throw t.badField(key, "string expected, got \(v.typeName)")
        }
    }
}

extension ScriptHost {
    /// The runtime note of how statd ran before the package's start restarted it.
    static let statdBeforeKey = "statd-before"
    /// Registers the package primitives. Their defaults (timeouts, limits,
    /// retries) come from `package`, or from the built-in defaults; a
    /// script's options table overrides them call by call.
    func registerPackagePrimitives(defaults c: PackageConfiguration, hanfs: String) {
        let node = self.node
        let vgs = VolumeGroups(node)
        let fss = FileSystems(node)
        let exports = Exports(node)
        let addresses = Addresses(node, announcer: [hanfs, "announce"])
        func outcome(_ o: Outcome) -> LuaValue { .string(o.rawValue) }
        func wrap<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as PrimitiveError { throw HostError(e.description) }
        }

        func ownership(_ o: PrimitiveOptions) throws -> VGOwnership {
            guard let s = try o.string("ownership") else { return c.vgOwnership }
            guard let m = VGOwnership(rawValue: s) else { throw HostError("ownership: tags or system_id, not \(s)") }
            return m
        }
        lua.register("vg_activate") { call in
            let name = try call.string(1)
            let o = try PrimitiveOptions(call, 2, known: ["force", "ownership", "timeout"])
            let mode = try ownership(o)
            return try call.push(try wrap {
                outcome(try vgs.activate(name, ownership: mode, force: o.boolean("force", false), timeout: o.number("timeout", c.timeouts.vg)))
            })
        }
        lua.register("vg_deactivate") { call in
            let name = try call.string(1)
            let o = try PrimitiveOptions(call, 2, known: ["ownership", "timeout"])
            let mode = try ownership(o)
            return try call.push(try wrap { outcome(try vgs.deactivate(name, ownership: mode, timeout: o.number("timeout", c.timeouts.vg))) })
        }
        func policy(_ o: PrimitiveOptions, _ fallback: FsckPolicy) throws -> FsckPolicy {
            guard let s = try o.string("run_fsck") else { return fallback }
            guard let p = FsckPolicy(rawValue: s) else { throw HostError("run_fsck: auto, force or no, not \(s)") }
            return p
        }
        lua.register("fsck") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "run_fsck"])
            // Called by name, it checks: that is what was asked.
            let p = try policy(o, .force)
            return try call.push(try wrap { outcome(try fss.fsck(fs, policy: p, timeout: o.number("timeout", c.timeouts.fsck))) })
        }
        lua.register("mount") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "retries"])
            return try call.push(try wrap {
                outcome(try fss.mount(fs, timeout: o.number("timeout", c.timeouts.mount), retries: o.integer("retries", c.mountRetries)))
            })
        }
        lua.register("umount") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "retries"])
            return try call.push(try wrap {
                outcome(try fss.umount(fs, timeout: o.number("timeout", c.timeouts.umount), retries: o.integer("retries", c.umountRetries)))
            })
        }
        func fileSystems(_ call: LuaCall) throws -> [FileSystem] {
            let list = try call.table(1)
            return try (0..<list.count).map { i in
                guard let item = list.table(at: i + 1) else { throw ArgumentError(position: 1, "[\(i + 1)]: a file system table expected") }
                return try PackageTable.fileSystem(item)
            }
        }
        func results(_ rs: [FileSystems.Result]) -> LuaValue {
            .table(LuaTable(array: rs.map { r in
                .table(LuaTable(fields: ["directory": .string(r.fileSystem.directory), "outcome": .string(r.outcome?.rawValue ?? "failed")]))
            }))
        }
        lua.register("mount_all") { call in
            // Options first: reading the list leaves its items on the stack.
            let o = try PrimitiveOptions(
                call, 2,
                known: ["run_fsck", "fsck_concurrency", "mount_concurrency", "retries", "fsck_timeout", "timeout", "umount_timeout"])
            let fsckPolicy = try policy(o, c.fsckPolicy)
            let fsckLimit = try o.integer("fsck_concurrency", c.fsckConcurrency, minimum: 1)
            let mountLimit = try o.integer("mount_concurrency", c.mountConcurrency, minimum: 1)
            let fsckTimeout = try o.number("fsck_timeout", c.timeouts.fsck)
            let mountTimeout = try o.number("timeout", c.timeouts.mount)
            let umountTimeout = try o.number("umount_timeout", c.timeouts.umount)
            let retries = try o.integer("retries", c.mountRetries)
            let list = try fileSystems(call)
            return try call.push(try wrap {
                results(try fss.mountAll(
                    list, fsckPolicy: fsckPolicy, fsckLimit: fsckLimit, mountLimit: mountLimit, fsckTimeout: fsckTimeout, mountTimeout: mountTimeout,
                    umountTimeout: umountTimeout, retries: retries))
            })
        }
        lua.register("umount_all") { call in
            let o = try PrimitiveOptions(call, 2, known: ["concurrency", "retries", "timeout"])
            let limit = try o.integer("concurrency", c.mountConcurrency, minimum: 1)
            let timeout = try o.number("timeout", c.timeouts.umount)
            let retries = try o.integer("retries", c.umountRetries)
            let list = try fileSystems(call)
            return try call.push(try wrap { results(try fss.umountAll(list, limit: limit, timeout: timeout, retries: retries)) })
        }
        // The package's NFS server: the kernel's (exportfs), or NFS-Ganesha run for the package.
        let ganesha = Ganesha(node, package: c, runtime: node.settings.runtime(c.name), log: c.ganeshaLogPath(in: node.settings.logDirectory))
        lua.register("export") { call in
            let e = try PackageTable.export(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            let timeout = try o.number("timeout", c.timeouts.export)
            return try call.push(try wrap {
                outcome(c.nfsServer == .ganesha ? try ganesha.export(e, timeout: timeout) : try exports.export(e, timeout: timeout))
            })
        }
        lua.register("unexport") { call in
            let e = try PackageTable.export(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            let timeout = try o.number("timeout", c.timeouts.export)
            return try call.push(try wrap {
                outcome(c.nfsServer == .ganesha ? try ganesha.unexport(e, timeout: timeout) : try exports.unexport(e, timeout: timeout))
            })
        }
        lua.register("nfs_server_start") { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", c.timeouts.export)
            return try call.push(try wrap { outcome(try ganesha.start(c.exports, timeout: timeout)) })
        }
        lua.register("nfs_server_stop") { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            return try call.push(outcome(ganesha.stop(timeout: try o.number("timeout", c.ganesha.stopTimeout))))
        }
        lua.register("nfs_server_running") { call in
            try call.push(.boolean(ganesha.isRunning))
        }
        lua.register("ip_add") { call in
            let a = try PackageTable.address(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["arp_count", "arp_interval", "dad_timeout", "timeout"])
            let count = try o.integer("arp_count", c.arpCount)
            let interval = try o.number("arp_interval", c.arpInterval)
            let dad = try o.number("dad_timeout", c.dadTimeout)
            let timeout = try o.number("timeout", c.timeouts.ip)
            return try call.push(try wrap {
                outcome(try addresses.add(a, arpCount: count, arpInterval: interval, dadTimeout: dad, timeout: timeout))
            })
        }
        lua.register("ip_remove") { call in
            let a = try PackageTable.address(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            return try call.push(try wrap { outcome(try addresses.remove(a, timeout: o.number("timeout", c.timeouts.ip))) })
        }

        // Lock migration (issue #4): the status monitor's entries.
        lua.register("sm_restore") { call in
            let holding = try call.string(1)
            let o = try PrimitiveOptions(call, 2, known: ["sm_dir"])
            guard let sm = try o.string("sm_dir") ?? StatusMonitor.detectDirectory() else {
                throw HostError("no SM directory found (\(StatusMonitor.knownDirectories.joined(separator: ", "))): give sm_dir")
            }
            return try call.push(try wrap {
                let r = try StatusMonitor.restore(holding: holding, into: sm, planning: node.planning)
                for name in r.skipped { node.logger.warning("\(holding)/\(name) is not a regular file: skipped") }
                let kept = r.keptNewer.isEmpty ? "" : "; \(r.keptNewer.count) newer there kept"
                let what = "\(r.copied.count) SM entr\(r.copied.count == 1 ? "y" : "ies")"
                node.logger.info("\(node.planning ? "would restore" : "restored") \(what) from \(holding) into \(sm)\(kept)")
                return .table(LuaTable(fields: [
                    "copied": PackageTable.strings(r.copied), "kept_newer": PackageTable.strings(r.keptNewer),
                    "skipped": PackageTable.strings(r.skipped), "sm_dir": .string(sm),
                ]))
            })
        }

        let notification = CrashNotification(node)
        lua.register("sm_notify") { call in
            let o = try PrimitiveOptions(call, 1, known: ["as", "state_dir", "retry_minutes", "timeout"])
            guard let t = o.view else { throw HostError("takes a table: sm_notify{as = \"nfspkg\", state_dir = ...}") }
            var names: [String] = []
            switch try t["as"] {
            case .string(let s): names = [s]
            case .table(let list) where list.fields.isEmpty && !list.array.isEmpty:
                names = list.array.compactMap(\.stringValue)
                guard names.count == list.array.count else { throw t.badField("as", "a list of names expected") }
            case let v: throw t.badField("as", "a name or a list of names expected, got \(v.typeName)")
            }
            let state = try o.string("state_dir")
                ?? StatusMonitor.detectDirectory().map { ($0 as NSString).deletingLastPathComponent }
            guard let state else { throw HostError("no SM directory found: give state_dir") }
            let minutes = try o.integer("retry_minutes", 15)
            let timeout = try o.number("timeout", 30)
            return try call.push(try wrap {
                PackageTable.strings(try notification.send(as: names, stateDirectory: state, retryMinutes: minutes, timeout: timeout))
            })
        }

        // The holding-directory sync: `hanfs flm` in the background.
        func sync(_ holding: String, argv: [String] = []) -> BackgroundService {
            StatusMonitor.sync(holding: holding, argv: argv)
        }
        lua.register("flm_start") { call in
            let o = try PrimitiveOptions(call, 1, known: ["sm_dir", "holding_dir", "interval", "log"])
            guard let holding = try o.string("holding_dir") else { throw HostError("flm_start: holding_dir missing") }
            guard let sm = try o.string("sm_dir") ?? StatusMonitor.detectDirectory() else {
                throw HostError("no SM directory found: give sm_dir")
            }
            if !sync(holding).processes.isEmpty { return try call.push("already") }
            try wrap {
                try StatusMonitor.requireDirectory(holding, "the holding directory")
                try StatusMonitor.requireDirectory(sm, "the SM directory")
            }
            var argv = [hanfs, "flm", "--sm-dir", sm, "--holding", holding,
                        "--interval", String(try o.number("interval", c.lockMigration.propagateInterval))]
            if let log = try o.string("log") { argv += ["--log", log] }
            // Started once its worker watches the SM directory: from then on
            // no entry is missed (what came before, its first full comparison copies).
            return try call.push(outcome(try wrap { try sync(holding, argv: argv).start(node) { ProcessTable.isWatching($0) } }))
        }
        // This node's lock migration: one package's at a time (see PackageRuntime).
        lua.register("lock_migration_claim") { call in
            if node.planning {
                node.logger.info("would take this node's lock migration for \(c.name)")
                return try call.push("done")
            }
            try wrap { try node.settings.runtime(c.name).claimLockMigration() }
            return try call.push("done")
        }
        lua.register("lock_migration_release") { call in
            if !node.planning { node.settings.runtime(c.name).releaseLockMigration() }
            return try call.push("done")
        }
        lua.register("flm_stop") { call in
            let o = try PrimitiveOptions(call, 1, known: ["holding_dir", "timeout"])
            guard let holding = try o.string("holding_dir") else { throw HostError("flm_stop: holding_dir missing") }
            return try call.push(outcome(sync(holding).stop(node, timeout: try o.number("timeout", 10))))
        }

        // The package's monitor, when hanfs rather than the cluster manager runs it.
        let configFile = c.file.isEmpty ? "" : URL(fileURLWithPath: c.file).standardizedFileURL.path
        let monitor = BackgroundService(
            name: "the monitor of \(c.name)", argv: [hanfs, "monitor", "--config", configFile]
        ) { argv in argv.count >= 4 && argv[0] == hanfs && argv[1] == "monitor" && argv[2] == "--config" && argv[3] == configFile }
        func requirePackageFile() throws {
            guard !configFile.isEmpty else { throw HostError("no package: give --config") }
        }
        // Serviceguard's own service commands: a legacy package's monitor is its service.
        func serviceguard(_ command: String) -> String? {
            ProcessRunner.resolve(command) ?? ProcessRunner.resolve("/usr/local/cmcluster/bin/\(command)")
        }
        lua.register("monitor_start") { call in
            try requirePackageFile()
            if !c.monitor.serviceName.isEmpty, let cmrunserv = serviceguard("cmrunserv") {
                if !monitor.processes.isEmpty { return try call.push("already") }
                // One command line, as Serviceguard keeps a service's (it runs it with its shell).
                let line = Command(monitor.argv, timeout: 1).description
                _ = try wrap { try node.run([cmrunserv, c.monitor.serviceName, line], timeout: 30) }
                return try call.push("done")
            }
            return try call.push(outcome(try wrap { try monitor.start(node) }))
        }
        lua.register("monitor_stop") { call in
            try requirePackageFile()
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            if !c.monitor.serviceName.isEmpty, !monitor.processes.isEmpty, let cmhaltserv = serviceguard("cmhaltserv") {
                _ = try wrap { try node.run([cmhaltserv, c.monitor.serviceName], timeout: 30, check: false) }
            }
            return try call.push(outcome(monitor.stop(node, timeout: try o.number("timeout", 10))))
        }
        lua.register("monitor_running") { call in
            try call.push(.boolean(!configFile.isEmpty && !monitor.processes.isEmpty))
        }

        lua.register("sm_notify_stop") { call in
            let state = try call.string(1)
            return try call.push(.integer(Int64(notification.stopAll(stateDirectory: state))))
        }
        let statd = StatusDaemon(node)
        lua.register("statd_restart") { call in
            let o = try PrimitiveOptions(call, 1, known: ["name", "state_dir", "holding_dir", "timeout"])
            guard let name = try o.string("name") else { throw HostError("statd_restart: name missing (the package's name or address)") }
            let state = try o.string("state_dir")
                ?? StatusMonitor.detectDirectory().map { ($0 as NSString).deletingLastPathComponent }
            guard let state else { throw HostError("no SM directory found: give state_dir") }
            let holding = try o.string("holding_dir")
            let timeout = try o.number("timeout", c.lockMigration.statmonWaitTime)
            return try call.push(try wrap {
                let previous = try statd.restart(name: name, stateDirectory: state, holding: holding, hanfs: hanfs, timeout: timeout)
                // What the undo of this start puts back.
                if !node.planning {
                    let text = previous.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "none"
                    try node.settings.runtime(c.name).write(Self.statdBeforeKey, text)
                }
                return "done"
            })
        }
        lua.register("statd_restore") { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", c.lockMigration.statmonWaitTime)
            let runtime = node.settings.runtime(c.name)
            guard let text = runtime.read(Self.statdBeforeKey) else { return try call.push("already") }
            let previous = try? JSONDecoder().decode(StatusDaemon.Invocation.self, from: Data(text.utf8))
            return try call.push(try wrap {
                try statd.restore(previous, timeout: timeout)
                if !node.planning { try runtime.write(Self.statdBeforeKey, nil) }
                return "done"
            })
        }
        lua.register("statd_pid") { call in
            try call.push(StatusDaemon.daemon.processes.first.map { .integer(Int64($0)) } ?? .nil)
        }
        lua.register("lockd_restart") { call in
            try call.push(.boolean(statd.restartLockd()))
        }
        lua.register("nsm_state_new") { call in
            let state = try call.string(1)
            if node.planning {
                node.logger.info("would write a fresh NSM state number to \(state)/state")
                return try call.push(.nil)
            }
            return try call.push(try wrap { .integer(Int64(try StatusDaemon.freshState(state))) })
        }

        // Checks for the monitor: answers, never raises.
        lua.register("rpc_ping") { call in
            let o = try PrimitiveOptions(call, 1, known: ["program", "version", "host", "transport", "timeout"])
            let program = try o.integer("program", 100000, minimum: 1)
            let version = try o.integer("version", program == 100000 ? 2 : 1, minimum: 1)
            let host = try o.string("host") ?? "127.0.0.1"
            guard let transport = RPCPing.Transport(rawValue: try o.string("transport") ?? "udp") else {
                throw HostError("transport: udp or tcp")
            }
            let timeout = try o.number("timeout", 2)
            do {
                try RPCPing.ping(host: host, program: UInt32(program), version: UInt32(version), transport: transport, timeout: timeout)
                return try call.push(true)
            } catch {
                try call.push(false)
                return try call.push(.string("\(error)")) + 1
            }
        }

        lua.register("ip_present") { call in
            let address = try call.string(1)
            let interface = call.optionalString(2, converting: false)
            let normal = IPAddress(address)?.description ?? address
            return try call.push(.boolean(Addresses.present().contains {
                $0.address == normal && (interface == nil || $0.interface == interface)
            }))
        }
        lua.register("fs_mounted") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            guard let m = (try? MountTable.read())?.mount(at: fs.directory) else {
                try call.push(false)
                return try call.push(.string("\(fs.directory) is not mounted")) + 1
            }
            guard fss.sameDevice(m, fs) else {
                try call.push(false)
                return try call.push(.string("\(fs.directory) has \(m.source) mounted, not \(fs.device)")) + 1
            }
            return try call.push(true)
        }
        let probe = FileSystemProbe()
        lua.register("fs_probe") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            do {
                try probe.probe(device: fs.device, directory: fs.directory, timeout: try o.number("timeout", 5))
                return try call.push(true)
            } catch let e as PrimitiveError {
                try call.push(false)
                return try call.push(.string(e.description)) + 1
            }
        }
        lua.register("flm_running") { call in
            try call.push(.boolean(!sync(try call.string(1)).processes.isEmpty))
        }
        lua.register("sleep") { call in
            // In short naps, so that a stop (deadline, Ctrl-C, SIGTERM) ends it at once.
            let until = Monotonic.now() + max(0, try call.number(1))
            while Monotonic.now() < until && !node.shouldStop() { usleep(20_000) }
            return 0
        }
        lua.register("file_exists") { call in
            var st = stat()
            return try call.push(.boolean(lstat(try call.string(1), &st) == 0))
        }

        // Inspection: what is there now, for `hanfs status` and the REPL.
        lua.register("vg_status") { call in
            let name = try call.string(1)
            return try call.push(try wrap {
                guard let vg = try vgs.inspect(name) else { return .nil }
                var t = LuaTable(fields: [
                    "name": .string(vg.name), "tags": PackageTable.strings(vg.tags), "system_id": .string(vg.systemID),
                    "logical_volumes": .integer(Int64(vg.logicalVolumes)),
                ])
                if let a = vg.activeVolumes { t["active_volumes"] = .integer(Int64(a)) }
                return .table(t)
            })
        }
        lua.register("mounts") { call in
            try call.push(try wrap {
                .table(LuaTable(array: try MountTable.read().entries.map { m in
                    .table(LuaTable(fields: [
                        "directory": .string(m.mountPoint), "device": .string(m.device), "type": .string(m.type),
                        "source": .string(m.source), "options": .string(m.options),
                    ]))
                }))
            })
        }
        lua.register("exports") { call in
            try call.push(try wrap {
                .table(LuaTable(array: try exports.list().map { e in
                    .table(LuaTable(fields: [
                        "directory": .string(e.directory), "clients": .string(e.clients),
                        "options": .string(e.options.joined(separator: ",")),
                    ]))
                }))
            })
        }
        lua.register("addresses") { call in
            try call.push(try wrap {
                .table(LuaTable(array: try addresses.list().map { a in
                    .table(LuaTable(fields: [
                        "interface": .string(a.interface), "address": .string(a.address), "prefix": .integer(Int64(a.prefix)),
                        "flags": PackageTable.strings(a.flags),
                    ]))
                }))
            })
        }
        lua.register("users") { call in
            let path = try call.string(1)
            let device = (try? MountTable.read())?.mount(at: path)?.device
            return try call.push(.table(LuaTable(array: ProcessUsers.find(mountPoint: path, device: device).map { u in
                .table(LuaTable(fields: ["pid": .integer(Int64(u.pid)), "command": .string(u.command), "holds": PackageTable.strings(u.holds)]))
            })))
        }
        lua.register("node_name") { call in try call.push(.string(node.nodeName)) }
    }
}
