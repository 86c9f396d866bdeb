import Foundation
import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The monitor's checks (answers, never errors; none starts a process)
    /// and the monitor itself when hanfs, not the cluster manager, runs it.
    var checks: BindingDomain {
        BindingDomain(
            title: "Checks and the monitor",
            intro: "A check answers `true`, or `false` and why; it does not raise for what it finds.",
            bindings: [
                rpcPing, fsMounted, fsProbe, ipPresent, linkExists, flmRunning, statdPid, fileExists, sleep, monitorStart,
                monitorStop, monitorRunning,
            ])
    }

    private var rpcPing: Binding {
        Binding(
            "rpc_ping", "rpc_ping{program, version, transport = \"udp\", host, timeout = 2}",
            """
            The monitor's RPC check: asks rpcbind for the port (PMAP_GETPORT; over IPv6 RPCB_GETADDR), then makes a \
            NULL call, both by hanfs itself over the transport (udp, tcp, udp6 or tcp6; `host` defaults to this \
            node's 127.0.0.1 or ::1), never by forking rpcinfo, and within one hard timeout (a stopped rpcbind costs \
            the timeout, not 75 s). Why it failed reads like `nfs (100003) version 3 is not registered with rpcbind \
            (udp)` or `rpcbind: no answer within the timeout`.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["program", "version", "host", "transport", "timeout"])
            let program = try o.integer("program", 100000, minimum: 1)
            let version = try o.integer("version", program == 100000 ? 2 : 1, minimum: 1)
            let host = try o.string("host")
            guard let transport = RPCPing.Transport(rawValue: try o.string("transport") ?? "udp") else {
                throw HostError("transport: udp, tcp, udp6 or tcp6")
            }
            let timeout = try o.number("timeout", 2)
            do {
                try RPCPing.ping(host: host, program: UInt32(program), version: UInt32(version), transport: transport, timeout: timeout)
                return try answer(call, nil)
            } catch {
                return try answer(call, "\(error)")
            }
        }
    }

    private var fsMounted: Binding {
        Binding("fs_mounted", "fs_mounted(fs)", "The file system mounted at its directory from its device.") { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            guard let m = (try? MountTable.read())?.mount(at: fs.directory) else {
                return try answer(call, "\(fs.directory) is not mounted")
            }
            guard fileSystems.sameDevice(m, fs) else {
                return try answer(call, "\(fs.directory) has \(m.source) mounted, not \(fs.device)")
            }
            return try answer(call, nil)
        }
    }

    private var fsProbe: Binding {
        let probe = FileSystemProbe()
        return Binding(
            "fs_probe", "fs_probe(fs, {timeout = 5})",
            """
            A direct (O_DIRECT) 4 KiB read of its device and a synced write of `.hanfs-monitor` at its top, on a \
            thread of their own, so that I/O that never returns costs the timeout (and is not started again while \
            it hangs).
            """
        ) { call in
            let fs = try PackageTable.fileSystem(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            do {
                try probe.probe(device: fs.device, directory: fs.directory, timeout: try o.number("timeout", 5))
                return try answer(call, nil)
            } catch let e as PrimitiveError {
                return try answer(call, e.description)
            }
        }
    }

    private var ipPresent: Binding {
        Binding("ip_present", "ip_present(address, interface)", "The address on the interface (any, if not given), from getifaddrs.") { call in
            let address = try call.string(1)
            let interface = call.optionalString(2, converting: false)
            let normal = IPAddress(address)?.description ?? address
            return try call.push(.boolean(Addresses.present().contains {
                $0.address == normal && (interface == nil || $0.interface == interface)
            }))
        }
    }

    private var linkExists: Binding {
        Binding("link_exists", "link_exists(interface)", "Whether this node (its network namespace) has the interface, up or down.") { call in
            try call.push(.boolean(if_nametoindex(try call.string(1)) > 0))
        }
    }

    private var flmRunning: Binding {
        Binding("flm_running", "flm_running(holding_dir)", "Whether the holding-directory sync into it runs.") { call in
            try call.push(.boolean(!StatusMonitor.sync(holding: try call.string(1)).processes.isEmpty))
        }
    }

    private var statdPid: Binding {
        Binding("statd_pid", "statd_pid()", "rpc.statd's pid in this network namespace, or nil.") { call in
            try call.push(StatusDaemon.daemon.processes.first.map { .integer(Int64($0)) } ?? .nil)
        }
    }

    private var fileExists: Binding {
        Binding("file_exists", "file_exists(path)", "Whether something is at the path (a link is not followed).") { call in
            var st = stat()
            return try call.push(.boolean(lstat(try call.string(1), &st) == 0))
        }
    }

    private var sleep: Binding {
        Binding("sleep", "sleep(seconds)", "Waits; a stop (deadline, Ctrl-C, SIGTERM) ends the wait at once.") { call in
            // In short naps, so that a stop ends it at once.
            let until = Monotonic.now() + max(0, try call.number(1))
            while Monotonic.now() < until && !node.shouldStop() { usleep(20_000) }
            return 0
        }
    }

    /// `hanfs monitor --config FILE` for the loaded package, found again by its command line.
    private var monitorService: BackgroundService {
        let file = defaults.file.isEmpty ? "" : URL(fileURLWithPath: defaults.file).standardizedFileURL.path
        let hanfs = self.hanfs
        return BackgroundService(name: "the monitor of \(defaults.name)", argv: [hanfs, "monitor", "--config", file]) { argv in
            argv.count >= 4 && argv[0] == hanfs && argv[1] == "monitor" && argv[2] == "--config" && argv[3] == file
        }
    }

    /// Serviceguard's own service commands: a legacy package's monitor is its service.
    private func serviceguard(_ command: String) -> String? {
        ProcessRunner.resolve(command) ?? ProcessRunner.resolve("/usr/local/cmcluster/bin/\(command)")
    }

    private var monitorStart: Binding {
        let monitor = monitorService
        return Binding(
            "monitor_start", "monitor_start()",
            """
            `hanfs monitor --config FILE` for the loaded package, in the background (start.lua uses it with \
            `monitor.run`); under Serviceguard with a `service_name`, through `cmrunserv` (with the \
            NFS_SERVICE_RESTART option).
            """
        ) { call in
            let c = try requirePackage()
            if !c.monitor.serviceName.isEmpty, let cmrunserv = serviceguard("cmrunserv") {
                if !monitor.processes.isEmpty { return try call.push("already") }
                // One command line, as Serviceguard keeps a service's (it runs it with its shell).
                let line = Command(monitor.argv, timeout: 1).description
                _ = try wrap { try node.run([cmrunserv] + c.monitor.serviceRestart + [c.monitor.serviceName, line], timeout: 30) }
                return try call.push("done")
            }
            return try call.push(outcome(try wrap { try monitor.start(node) }))
        }
    }

    private var monitorStop: Binding {
        let monitor = monitorService
        return Binding("monitor_stop", "monitor_stop{timeout}", "Stops the package's monitor: TERM, then KILL after the timeout.") { call in
            let c = try requirePackage()
            let o = try PrimitiveOptions(call, 1, known: ["timeout"])
            if !c.monitor.serviceName.isEmpty, !monitor.processes.isEmpty, let cmhaltserv = serviceguard("cmhaltserv") {
                _ = try wrap { try node.run([cmhaltserv, c.monitor.serviceName], timeout: 30, check: false) }
            }
            return try call.push(outcome(monitor.stop(node, timeout: try o.number("timeout", 10))))
        }
    }

    private var monitorRunning: Binding {
        let monitor = monitorService
        return Binding("monitor_running", "monitor_running()", "Whether the package's monitor runs.") { call in
            try call.push(.boolean(package != nil && !monitor.processes.isEmpty))
        }
    }
}
