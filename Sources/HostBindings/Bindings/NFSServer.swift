import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The package's NFS server: the kernel's (exportfs), or NFS-Ganesha run for the package.
    var nfsServer: BindingDomain {
        BindingDomain(
            title: "The NFS server", intro: "",
            bindings: [
                export, unexport, nfsServerStart, nfsServerStop, nfsServerRunning, kernelServerStart, kernelServerStop,
                kernelServerStatus, nfsUnlockAddress, nfsEndGrace,
            ])
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

    private var kernelServer: KernelServer { KernelServer(node) }

    private var kernelServerStart: Binding {
        Binding(
            "kernel_server_start", "kernel_server_start{timeout}",
            """
            The kernel NFS server for the package (`kernel.manage`): a running nfsd stopped first (a new grace \
            period for NFSv4 and NLM); nfsdcld with the NFSv4 client records in `kernel.recovery_dir`, and no \
            other nfsdcld; rpc.mountd unless it runs; the NFSv4 grace period `grace_time` and lockd's \
            `nlm_grace_time` written to the kernel; rpc.nfsd with `kernel.threads` and `lease_time`, under the host \
            name `kernel.scope` (the NFSv4 server scope). Default timeout `timeouts.export`.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.timeouts.export)
            let k = defaults.kernel
            let settings = KernelServer.Settings(
                scope: defaults.kernelScope, threads: k.threads, graceTime: k.graceTime, nlmGraceTime: defaults.kernelNLMGraceTime,
                leaseTime: k.leaseTime,
                recoveryDirectory: defaults.kernelRecoveryDirectory)
            return try call.push(try wrap { outcome(try kernelServer.start(settings, hanfs: hanfs, timeout: timeout)) })
        }
    }

    private var kernelServerStop: Binding {
        Binding(
            "kernel_server_stop", "kernel_server_stop{timeout}",
            """
            `rpc.nfsd 0` (its NFSv4 state and NLM locks go with it), then the package's nfsdcld, which lets go \
            of the records on the package's storage. rpc.mountd stays.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.timeouts.export)
            return try call.push(try wrap {
                outcome(try kernelServer.stop(recoveryDirectory: defaults.kernelRecoveryDirectory, timeout: timeout))
            })
        }
    }

    private var kernelServerStatus: Binding {
        Binding(
            "kernel_server_status", "kernel_server_status()",
            "The kernel server here: `{threads, grace_ended}`, or nil where there is none (no nfsd file system)."
        ) { call in
            let server = kernelServer
            guard let threads = server.threads else { return try call.push(.nil) }
            var t = LuaTable()
            t["threads"] = .integer(Int64(threads))
            if let ended = server.graceEnded { t["grace_ended"] = .boolean(ended) }
            return try call.push(.table(t))
        }
    }

    private var nfsUnlockAddress: Binding {
        Binding(
            "nfs_unlock_ip", "nfs_unlock_ip(address)",
            """
            The kernel server's NLM locks taken through a package address dropped (`/proc/fs/nfsd/unlock_ip`), \
            as the address leaves; "skipped" where there is no kernel server.
            """
        ) { call in
            let text = try call.string(1)
            let address = String(text.split(separator: "/").first ?? "")
            guard IPAddress(address) != nil else { throw HostError("nfs_unlock_ip: \(text): an IP address expected") }
            return try call.push(outcome(kernelServer.unlockAddress(address)))
        }
    }

    private var nfsEndGrace: Binding {
        Binding(
            "nfs_end_grace", "nfs_end_grace()",
            "Ends the kernel server's NFSv4 grace period now (`/proc/fs/nfsd/v4_end_grace`); \"already\" when it has ended."
        ) { call in
            try call.push(outcome(kernelServer.endGrace()))
        }
    }
}
