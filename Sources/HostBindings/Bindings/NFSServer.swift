import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The package's NFS server: the kernel's (exportfs), or NFS-Ganesha run for the package.
    var nfsServer: BindingDomain {
        BindingDomain(
            title: "The NFS server", intro: "",
            bindings: [export, unexport, nfsServerStart, nfsServerStop, nfsServerRunning])
    }

    private var export: Binding {
        exportBinding(
            "export", "export(e, {timeout})",
            """
            `exportfs -o options,fsid=N clients:dir`, checked against the export table (/var/lib/nfs/etab). With \
            `nfs_server = "ganesha"`: the export added to the running NFS-Ganesha, through its D-Bus export manager \
            where a system bus is, else by its configuration and a restart.
            """,
            kernel: kernelExports.export, ganesha: ganesha.export)
    }

    private var unexport: Binding {
        exportBinding(
            "unexport", "unexport(e, {timeout})",
            """
            `exportfs -u clients:dir`, then drops the NLM locks on the file system \
            (`/proc/fs/nfsd/unlock_filesystem`) where the kernel server runs. With `nfs_server = "ganesha"`: the \
            export removed from the running NFS-Ganesha.
            """,
            kernel: kernelExports.unexport, ganesha: ganesha.unexport)
    }

    /// One export at a time, by the package's NFS server: the kernel's or NFS-Ganesha.
    private func exportBinding(
        _ name: String, _ usage: String, _ doc: String, kernel: @escaping (Export, Double) throws -> Outcome,
        ganesha: @escaping (Export, Double) throws -> Outcome
    ) -> Binding {
        Binding(name, usage, doc) { call in
            let e = try PackageTable.export(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.timeouts.export)
            return try call.push(try wrap { outcome(try (defaults.nfsServer == .ganesha ? ganesha : kernel)(e, timeout)) })
        }
    }

    private var nfsServerStart: Binding {
        Binding(
            "nfs_server_start", "nfs_server_start{timeout}",
            """
            NFS-Ganesha for the package: its configuration written from every export, started, up once it answers \
            (default timeout `timeouts.export`).
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.timeouts.export)
            return try call.push(try wrap { outcome(try ganesha.start(defaults.exports, timeout: timeout)) })
        }
    }

    private var nfsServerStop: Binding {
        Binding(
            "nfs_server_stop", "nfs_server_stop{timeout}",
            "The package's NFS-Ganesha stopped with TERM, then KILL after the timeout (`ganesha.stop_timeout`)."
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            return try call.push(outcome(ganesha.stop(timeout: try o.number("timeout", defaults.ganesha.stopTimeout))))
        }
    }

    private var nfsServerRunning: Binding {
        Binding("nfs_server_running", "nfs_server_running()", "Whether the package's NFS-Ganesha runs.") { call in
            try call.push(.boolean(ganesha.isRunning))
        }
    }
}
