import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// Volume groups and file systems.
    var storage: BindingDomain {
        BindingDomain(
            title: "Storage", intro: "",
            bindings: [vgActivate, vgDeactivate, fsck, mount, umount, mountAll, umountAll])
    }

    private func ownership(_ o: PrimitiveOptions) throws -> VGOwnership {
        guard let s = try o.string("ownership") else { return defaults.vgOwnership }
        guard let m = VGOwnership(rawValue: s) else { throw HostError("ownership: tags or system_id, not \(s)") }
        return m
    }

    private func fsckPolicy(_ o: PrimitiveOptions, _ fallback: FsckPolicy) throws -> FsckPolicy {
        guard let s = try o.string("run_fsck") else { return fallback }
        guard let p = FsckPolicy(rawValue: s) else { throw HostError("run_fsck: auto, force or no, not \(s)") }
        return p
    }

    private var vgActivate: Binding {
        Binding(
            "vg_activate", "vg_activate(name, {takeover, ownership, timeout})",
            """
            Takes the VG for this node and activates it. With host tags (the default): a VG tagged by another node is \
            refused, naming the node and what to do, unless `takeover` (the other node is down: the cluster manager \
            fenced it, or an operator made sure; start.lua passes `parts.takeover`); a take-over removes the other \
            node's tag and is logged, naming it; this node's tag is added; activation is limited to VGs carrying it. With `ownership = "system_id"`: the same with LVM's \
            system ID. The result is read back from LVM. Where this node's LVM cannot activate (`activation = 0`), \
            ownership is checked and that is logged.
            """
        ) { call in
            let name = try call.string(1)
            let o = try PrimitiveOptions(call, 2, known: ["takeover", "ownership", "timeout"])
            let mode = try ownership(o)
            let takeover = try o.boolean("takeover", false)
            let timeout = try o.number("timeout", defaults.timeouts.vg)
            return try call.push(try wrap { outcome(try vgs.activate(name, ownership: mode, takeover: takeover, timeout: timeout)) })
        }
    }

    private var vgDeactivate: Binding {
        Binding(
            "vg_deactivate", "vg_deactivate(name, {ownership, timeout})",
            """
            Deactivates and gives up this node's claim: its tag, or its system ID (the VG is left with none, for the \
            next node's plain start). Absent, or inactive and unclaimed: done already. Claimed by another node: left alone.
            """
        ) { call in
            let name = try call.string(1)
            let o = try PrimitiveOptions(call, 2, known: ["ownership", "timeout"])
            let mode = try ownership(o)
            let timeout = try o.number("timeout", defaults.timeouts.vg)
            return try call.push(try wrap { outcome(try vgs.deactivate(name, ownership: mode, timeout: timeout)) })
        }
    }

    private var fsck: Binding {
        Binding(
            "fsck", "fsck(fs, {run_fsck, timeout})",
            """
            `fsck.<type> -p` (or the file system's own options). Status 1-3: repaired, logged; 4 or more: an error. \
            Called by name it checks (`run_fsck = "force"`); `mount_all` follows the package's `run_fsck`.
            """
        ) { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "run_fsck"])
            let policy = try fsckPolicy(o, .force)
            let timeout = try o.number("timeout", defaults.timeouts.fsck)
            return try call.push(try wrap { outcome(try fileSystems.fsck(fs, policy: policy, timeout: timeout)) })
        }
    }

    private var mount: Binding {
        Binding(
            "mount", "mount(fs, {timeout, retries})",
            """
            Creates the mount point; mounted from the same device: done already; from another device, or something \
            mounted beneath it: an error. Checked against /proc/self/mountinfo.
            """
        ) { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "retries"])
            let timeout = try o.number("timeout", defaults.timeouts.mount)
            let retries = try o.integer("retries", defaults.mountRetries)
            return try call.push(try wrap { outcome(try fileSystems.mount(fs, timeout: timeout, retries: retries)) })
        }
    }

    private var umount: Binding {
        Binding(
            "umount", "umount(fs, {timeout, retries})",
            """
            Submounts first, then the file system: a plain umount; then TERM to the processes that use it for half \
            the time left, then KILL; each process is named in the log with what held it (cwd, root, exe, fd N, \
            mmap). They are found by walking /proc, never with fuser, which can hang.
            """
        ) { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout", "retries"])
            let timeout = try o.number("timeout", defaults.timeouts.umount)
            let retries = try o.integer("retries", defaults.umountRetries)
            return try call.push(try wrap { outcome(try fileSystems.umount(fs, timeout: timeout, retries: retries)) })
        }
    }

    private func fileSystemList(_ call: LuaCall) throws -> [FileSystem] {
        let list = try call.table(1)
        return try (0..<list.count).map { i in
            guard let item = list.table(at: i + 1) else { throw ArgumentError(position: 1, "[\(i + 1)]: a file system table expected") }
            return try PackageTable.fileSystem(item)
        }
    }

    private func results(_ rs: [FileSystems.Result]) -> LuaValue {
        .table(LuaTable(array: rs.map { r in
            .table(LuaTable(fields: ["directory": .string(r.fileSystem.directory), "outcome": .string(r.outcome?.rawValue ?? "failed")]))
        }))
    }

    private var mountAll: Binding {
        Binding(
            "mount_all", "mount_all(list, {run_fsck, fsck_concurrency, mount_concurrency, retries, fsck_timeout, timeout, umount_timeout})",
            """
            Checks and mounts several at once, up to the limits, parents mounted before children. All or nothing: if \
            one fails, what it mounted is unmounted again. Returns `{directory, outcome}` for each. When a site has \
            replaced `fsck` or `mount` (stdlib/composites.lua), each file system goes through the site's functions \
            instead, one at a time.
            """
        ) { call in
            // Options first: reading the list leaves its items on the stack.
            let o = try PrimitiveOptions(
                call, 2,
                known: ["run_fsck", "fsck_concurrency", "mount_concurrency", "retries", "fsck_timeout", "timeout", "umount_timeout"])
            let policy = try fsckPolicy(o, defaults.fsckPolicy)
            let fsckLimit = try o.integer("fsck_concurrency", defaults.fsckConcurrency, minimum: 1)
            let mountLimit = try o.integer("mount_concurrency", defaults.mountConcurrency, minimum: 1)
            let fsckTimeout = try o.number("fsck_timeout", defaults.timeouts.fsck)
            let mountTimeout = try o.number("timeout", defaults.timeouts.mount)
            let umountTimeout = try o.number("umount_timeout", defaults.timeouts.umount)
            let retries = try o.integer("retries", defaults.mountRetries)
            let list = try fileSystemList(call)
            return try call.push(try wrap {
                results(try fileSystems.mountAll(
                    list, fsckPolicy: policy, fsckLimit: fsckLimit, mountLimit: mountLimit, fsckTimeout: fsckTimeout,
                    mountTimeout: mountTimeout, umountTimeout: umountTimeout, retries: retries))
            })
        }
    }

    private var umountAll: Binding {
        Binding(
            "umount_all", "umount_all(list, {concurrency, timeout, retries})",
            """
            Unmounts several at once, children before their parents. Every one is tried; the error names every \
            failure. Through the site's `umount` when a site has replaced it.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 2, known: ["concurrency", "retries", "timeout"])
            let limit = try o.integer("concurrency", defaults.mountConcurrency, minimum: 1)
            let timeout = try o.number("timeout", defaults.timeouts.umount)
            let retries = try o.integer("retries", defaults.umountRetries)
            let list = try fileSystemList(call)
            return try call.push(try wrap { results(try fileSystems.umountAll(list, limit: limit, timeout: timeout, retries: retries)) })
        }
    }
}
