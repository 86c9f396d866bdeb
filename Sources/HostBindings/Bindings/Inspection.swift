import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// What is there now, for `hanfs status` and the REPL. Changes nothing.
    var inspection: BindingDomain {
        BindingDomain(
            title: "Inspection", intro: "What is there now; `hanfs status` is written with them.",
            bindings: [vgStatus, mounts, exports, clientList, addressList, users])
    }

    private var vgStatus: Binding {
        Binding(
            "vg_status", "vg_status(name)",
            "A VG's tags, system ID (and, when it has one, this node's: `local_system_id`), logical volumes and active ones; nil when it is not there."
        ) { call in
            let name = try call.string(1)
            return try call.push(try wrap {
                guard let vg = try vgs.inspect(name) else { return .nil }
                var t = LuaTable(fields: [
                    "name": .string(vg.name), "tags": PackageTable.strings(vg.tags), "system_id": .string(vg.systemID),
                    "logical_volumes": .integer(Int64(vg.logicalVolumes)),
                ])
                if let a = vg.activeVolumes { t["active_volumes"] = .integer(Int64(a)) }
                if !vg.systemID.isEmpty { t["local_system_id"] = .string(try vgs.localSystemID()) }
                return .table(t)
            })
        }
    }

    private var mounts: Binding {
        Binding("mounts", "mounts()", "The mount table: `{directory, device, type, source, options}` each.") { call in
            try call.push(try wrap {
                .table(LuaTable(array: try MountTable.read().entries.map { m in
                    .table(LuaTable(fields: [
                        "directory": .string(m.mountPoint), "device": .string(m.device), "type": .string(m.type),
                        "source": .string(m.source), "options": .string(m.options),
                    ]))
                }))
            })
        }
    }

    private var exports: Binding {
        Binding(
            "exports", "exports()",
            """
            What is exported on this node: the kernel's export table, and where the loaded package runs \
            NFS-Ganesha, what it serves (from its configuration): `{directory, clients, options, server}` each, \
            `server` being `kernel` or `ganesha` (with its `export_id`).
            """
        ) { call in
            try call.push(try wrap {
                var list: [LuaValue] = try kernelExports.list().map { e in
                    .table(LuaTable(fields: [
                        "directory": .string(e.directory), "clients": .string(e.clients),
                        "options": .string(e.options.joined(separator: ",")), "server": "kernel",
                    ]))
                }
                if package?.nfsServer == .ganesha {
                    list += ganesha.served().map { e in
                        .table(LuaTable(fields: [
                            "directory": .string(e.directory), "clients": .string(e.clients), "options": .string(e.options),
                            "server": "ganesha", "export_id": .integer(Int64(e.id)),
                        ]))
                    }
                }
                return .table(LuaTable(array: list))
            })
        }
    }

    private var clientList: Binding {
        Binding(
            "clients", "clients()",
            """
            The NFS clients the servers on this node hold state for: the kernel's NFSv4 clients (its nfsd file \
            system) and, where the loaded package runs NFS-Ganesha and a system bus is, Ganesha's (its client \
            manager): `{address, server, minor_version}` each.
            """
        ) { call in
            try call.push(try wrap {
                var list: [LuaValue] = KernelServer(node).clients().map { c in
                    var t = LuaTable(fields: ["address": .string(c.address), "server": "kernel"])
                    if let m = c.minorVersion { t["minor_version"] = .integer(Int64(m)) }
                    return .table(t)
                }
                if package?.nfsServer == .ganesha, let addresses = try ganesha.clients() {
                    list += addresses.map { .table(LuaTable(fields: ["address": .string($0), "server": "ganesha"])) }
                }
                return .table(LuaTable(array: list))
            })
        }
    }

    private var addressList: Binding {
        Binding("addresses", "addresses()", "The addresses on every interface: `{interface, address, prefix, flags}` each.") { call in
            try call.push(try wrap {
                .table(LuaTable(array: try addresses.list().map { a in
                    .table(LuaTable(fields: [
                        "interface": .string(a.interface), "address": .string(a.address), "prefix": .integer(Int64(a.prefix)),
                        "flags": PackageTable.strings(a.flags),
                    ]))
                }))
            })
        }
    }

    private var users: Binding {
        Binding("users", "users(path)", "The processes using a mount point: `{pid, command, holds}` each, found by walking /proc.") { call in
            let path = try call.string(1)
            let device = (try? MountTable.read())?.mount(at: path)?.device
            return try call.push(.table(LuaTable(array: ProcessUsers.find(mountPoint: path, device: device).map { u in
                .table(LuaTable(fields: ["pid": .integer(Int64(u.pid)), "command": .string(u.command), "holds": PackageTable.strings(u.holds)]))
            })))
        }
    }
}
