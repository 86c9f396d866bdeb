import Foundation
import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The NFSv3 lock state: the status monitor's entries, rpc.statd, the
    /// holding-directory sync and the crash notification (the toolkit's nfs.flm).
    var lockMigration: BindingDomain {
        BindingDomain(
            title: "Lock migration", intro: "",
            bindings: [
                smRestore, smNotify, smNotifyStop, flmStart, flmStop, flmLag, claim, release, statdRestart, statdRestore,
                lockdRestart, nsmStateNew,
            ])
    }

    /// The runtime note of how statd ran before the package's start restarted it.
    static let statdBeforeKey = "statd-before"

    private func smDirectory(_ o: PrimitiveOptions) throws -> String {
        guard let sm = try o.string("sm_dir") ?? StatusMonitor.detectDirectory() else {
            throw HostError("no SM directory found (\(StatusMonitor.knownDirectories.joined(separator: ", "))): give sm_dir")
        }
        return sm
    }

    private func stateDirectory(_ o: PrimitiveOptions) throws -> String {
        let state = try o.string("state_dir") ?? StatusMonitor.detectDirectory().map { ($0 as NSString).deletingLastPathComponent }
        guard let state else { throw HostError("no SM directory found: give state_dir") }
        return state
    }

    private var smRestore: Binding {
        Binding(
            "sm_restore", "sm_restore(holding_dir, {sm_dir})",
            """
            Merges the NSM entries kept in the holding directory into the SM directory (found at \
            `/var/lib/nfs/statd/sm` or `/var/lib/nfs/sm` unless given): an entry there that is newer stays; each held \
            entry is removed once merged. Both directories are opened once, without following links, and worked in \
            through their descriptors; copies are atomic and keep owner, mode and times; a link, another non-file, or \
            a file that is not shaped like an SM entry is skipped and logged. Returns `{copied, kept_newer, skipped, \
            sm_dir}`.
            """
        ) { call in
            let holding = try call.string(1)
            let sm = try smDirectory(try PrimitiveOptions(call, 2, known: ["sm_dir"]))
            return try call.push(try wrap {
                let r = try StatusMonitor.restore(holding: holding, into: sm, effects: node.effects)
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
    }

    private var smNotify: Binding {
        Binding(
            "sm_notify", "sm_notify{as = name or {names}, state_dir, retry_minutes = 15, timeout}",
            """
            Crash notification: `sm-notify -f -m MIN -v NAME -P DIR` for each package name or address, so the \
            clients listed in the SM directory reclaim their locks from this node. The first name notifies from the \
            state directory (default: the one holding the detected SM directory); every further name from a copy of \
            its own, made before the first run moves the entries out; a still-running sm-notify on that directory is \
            stopped and the pid file removed first. sm-notify goes to the background after its first round and \
            retries for `retry_minutes` at most. Returns the state directories used.
            """
        ) { call in
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
            let state = try stateDirectory(o)
            let minutes = try o.integer("retry_minutes", 15)
            let timeout = try o.number("timeout", 30)
            return try call.push(try wrap {
                PackageTable.strings(try notification.send(as: names, stateDirectory: state, retryMinutes: minutes, timeout: timeout))
            })
        }
    }

    private var smNotifyStop: Binding {
        Binding(
            "sm_notify_stop", "sm_notify_stop(state_dir)",
            """
            Ends the sm-notify runs still retrying from the state directory or its per-name copies (stop does this: a \
            package that has left must not be spoken for); returns how many.
            """
        ) { call in
            let state = try call.string(1)
            return try call.push(.integer(Int64(notification.stopAll(stateDirectory: state))))
        }
    }

    private var flmLag: Binding {
        Binding(
            "flm_lag", "flm_lag{holding_dir, sm_dir}",
            """
            How far the holding directory is behind the SM directory, read without changing either: \
            `{unsynced, stale, seconds}`: SM entries not (yet the same) in it, entries in it gone from the SM \
            directory, seconds since the oldest unsynced entry was written (0: in step). nil and why when a \
            directory cannot be read.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["sm_dir", "holding_dir"])
            guard let holding = try o.string("holding_dir") else { throw HostError("flm_lag: holding_dir missing") }
            let sync = HoldingSync(sm: try smDirectory(o), holding: holding, interval: 1, log: { _ in })
            do {
                let lag = try sync.lag()
                return try call.push(.table(LuaTable(fields: [
                    "unsynced": .integer(Int64(lag.unsynced)), "stale": .integer(Int64(lag.stale)), "seconds": .number(lag.seconds),
                ])))
            } catch {
                return try call.push(.nil) + call.push(.string("\(error)"))
            }
        }
    }

    private var flmStart: Binding {
        Binding(
            "flm_start", "flm_start{holding_dir, sm_dir, interval, log, timeout}",
            """
            The holding-directory sync: `hanfs flm` in the background keeps the holding directory a copy of the SM \
            directory. An entry rpc.statd writes or removes is copied or removed as soon as inotify reports it, \
            atomically and without following links; a full comparison every `interval` (default \
            PROPAGATE_INTERVAL) is the safety net. Up once it watches the SM directory, within `timeout` (default \
            STATMON_WAITTIME: a loaded node can take seconds). Running already: `"already"`.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["sm_dir", "holding_dir", "interval", "log", "timeout"])
            let timeout = try o.number("timeout", defaults.lockMigration.statmonWaitTime)
            guard let holding = try o.string("holding_dir") else { throw HostError("flm_start: holding_dir missing") }
            let sm = try smDirectory(o)
            if !StatusMonitor.sync(holding: holding).processes.isEmpty { return try call.push("already") }
            try wrap {
                try StatusMonitor.requireDirectory(holding, "the holding directory")
                try StatusMonitor.requireDirectory(sm, "the SM directory")
            }
            var argv = [hanfs, "flm", "--sm-dir", sm, "--holding", holding,
                        "--interval", String(try o.number("interval", defaults.lockMigration.propagateInterval))]
            if let log = try o.string("log") { argv += ["--log", log] }
            // Started once its worker watches the SM directory: from then on
            // no entry is missed (what came before, its first full comparison copies).
            return try call.push(outcome(try wrap {
                try StatusMonitor.sync(holding: holding, argv: argv).start(node, within: timeout) { ProcessTable.isWatching($0) }
            }))
        }
    }

    private var flmStop: Binding {
        Binding(
            "flm_stop", "flm_stop{holding_dir, timeout}",
            "Stops the holding-directory sync: TERM, a wait, then KILL. Stopped already: `\"already\"`."
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["holding_dir", "timeout"])
            guard let holding = try o.string("holding_dir") else { throw HostError("flm_stop: holding_dir missing") }
            return try call.push(outcome(StatusMonitor.sync(holding: holding).stop(node, timeout: try o.number("timeout", 10))))
        }
    }

    private var claim: Binding {
        Binding(
            "lock_migration_claim", "lock_migration_claim()",
            """
            Takes this node's lock migration for the package: one package's at a time. rpc.statd serves the whole \
            node, and neither the kernel's lockd nor NFS-Ganesha tells it which package address a client locked \
            through, so a second package's lock migration would restart statd from under the first and take its \
            clients: it is refused, naming the package that holds it, while that package is up. Packages without \
            lock migration run beside it freely.
            """
        ) { call in
            try wrap {
                try node.effects.change("take this node's lock migration for \(defaults.name)") {
                    try node.settings.runtime(defaults.name).claimLockMigration()
                }
            }
            return try call.push("done")
        }
    }

    private var release: Binding {
        Binding("lock_migration_release", "lock_migration_release()", "Gives back this node's lock migration (the undo of the claim).") { call in
            node.effects.change("give back this node's lock migration") { node.settings.runtime(defaults.name).releaseLockMigration() }
            return try call.push("done")
        }
    }

    private var statdRestart: Binding {
        Binding(
            "statd_restart", "statd_restart{name, state_dir, holding_dir, timeout}",
            """
            Asks rpcbind first (2 s; without it statd can neither unregister nor register, and is left as it was), \
            then stops the rpc.statd of this node (TERM, then KILL after 5 s; only in this network namespace) and \
            starts `rpc.statd --no-notify -n NAME -P DIR`, with hanfs as its callout (`-H`, a link \
            `hanfs-statd-callout` in /run/hanfs) when a holding directory is given; waits until it is registered with \
            rpcbind. A new statd that does not come up is ended and the old one started again as it ran.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["name", "state_dir", "holding_dir", "timeout"])
            guard let name = try o.string("name") else { throw HostError("statd_restart: name missing (the package's name or address)") }
            let state = try stateDirectory(o)
            let holding = try o.string("holding_dir")
            let timeout = try o.number("timeout", defaults.lockMigration.statmonWaitTime)
            return try call.push(try wrap {
                let previous = try statd.restart(name: name, stateDirectory: state, holding: holding, hanfs: hanfs, timeout: timeout)
                // What the undo of this start puts back.
                let text = previous.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "none"
                let runtime = node.settings.runtime(defaults.name)
                try node.effects.change("write \(runtime.path(Self.statdBeforeKey))") { try runtime.write(Self.statdBeforeKey, text) }
                return "done"
            })
        }
    }

    private var statdRestore: Binding {
        Binding(
            "statd_restore", "statd_restore{timeout}",
            "The undo of `statd_restart`, when a later step of the start fails: puts back the statd the restart replaced."
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.lockMigration.statmonWaitTime)
            let runtime = node.settings.runtime(defaults.name)
            guard let text = runtime.read(Self.statdBeforeKey) else { return try call.push("already") }
            let previous = try? JSONDecoder().decode(StatusDaemon.Invocation.self, from: Data(text.utf8))
            return try call.push(try wrap {
                try statd.restore(previous, timeout: timeout)
                try node.effects.change("remove \(runtime.path(Self.statdBeforeKey))") { try runtime.write(Self.statdBeforeKey, nil) }
                return "done"
            })
        }
    }

    private var lockdRestart: Binding {
        Binding(
            "lockd_restart", "lockd_restart()",
            """
            SLES-style takeover: SIGKILL to the kernel's lockd, which drops its NLM locks and enters a new grace \
            period; false, with a warning, when there is no lockd (no kernel NFS server). `lock_migration.restart = \
            "lockd"` makes lock migration use it instead of restarting statd.
            """
        ) { call in
            try call.push(.boolean(statd.restartLockd()))
        }
    }

    private var nsmStateNew: Binding {
        Binding(
            "nsm_state_new", "nsm_state_new(state_dir)",
            "Writes a fresh, random NSM state number (even: the next sm-notify makes it odd and new) to `state_dir/state`."
        ) { call in
            let state = try call.string(1)
            return try call.push(try wrap {
                try node.effects.change("write a fresh NSM state number to \(state)/state", planned: .nil) {
                    .integer(Int64(try StatusDaemon.freshState(state)))
                }
            })
        }
    }
}
