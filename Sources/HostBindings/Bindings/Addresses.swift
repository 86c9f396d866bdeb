import LuaRuntime
import PackageConfig
import Primitives

extension Bindings {
    /// The package's addresses.
    var addressDomain: BindingDomain {
        BindingDomain(title: "Addresses", intro: "", bindings: [ipProbe, ipAdd, ipRemove, connectionsRecord, connectionsPrompt])
    }

    private var ipAdd: Binding {
        Binding(
            "ip_add", "ip_add(a, {arp_count, arp_interval, dad_timeout, timeout})",
            """
            Probes with ARP whether another host has the address (refused, naming its MAC, if one answers); `ip addr \
            add`; then announces it with gratuitous ARP (5 at 200 ms by default) from a packet socket of hanfs's own \
            (`hanfs announce`, in the background). IPv6: waits for the kernel's duplicate address detection and \
            removes the address if it fails.
            """
        ) { call in
            let a = try PackageTable.address(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["arp_count", "arp_interval", "dad_timeout", "timeout"])
            let count = try o.integer("arp_count", defaults.arpCount)
            let interval = try o.number("arp_interval", defaults.arpInterval)
            let dad = try o.number("dad_timeout", defaults.dadTimeout)
            let timeout = try o.number("timeout", defaults.timeouts.ip)
            return try call.push(try wrap {
                outcome(try addresses.add(a, arpCount: count, arpInterval: interval, dadTimeout: dad, timeout: timeout))
            })
        }
    }

    private var ipProbe: Binding {
        Binding(
            "ip_probe", "ip_probe(a, {dad_timeout, timeout})",
            """
            Begins ip_add's duplicate address probe now, in the background, so that it runs while the storage comes \
            up (start does this for every address before its first step); ip_add of the address then waits for its \
            result instead of probing, if it ended within 5 s, and probes again otherwise. Nothing for IPv6 or an \
            address present here.
            """
        ) { call in
            let a = try PackageTable.address(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["dad_timeout", "timeout"])
            let dad = try o.number("dad_timeout", defaults.dadTimeout)
            let timeout = try o.number("timeout", defaults.timeouts.ip)
            try wrap { try addresses.probeAhead(a, dadTimeout: dad, timeout: timeout) }
            return 0
        }
    }

    private var ipRemove: Binding {
        Binding("ip_remove", "ip_remove(a, {timeout})", "`ip addr del`; absent: done already.") { call in
            let a = try PackageTable.address(try call.table(1))
            let o = try PrimitiveOptions(call, 2, known: ["timeout"])
            let timeout = try o.number("timeout", defaults.timeouts.ip)
            return try call.push(try wrap { outcome(try addresses.remove(a, timeout: timeout)) })
        }
    }

    /// The record of the clients' connections, on the package's first file system.
    private func clientConnections() throws -> ClientConnections {
        let c = try requirePackage()
        guard let fs = c.recordFileSystem else { throw HostError("the package has no file system to keep a record on") }
        return ClientConnections(node, fileSystem: fs)
    }

    private var connectionsRecord: Binding {
        Binding(
            "connections_record", "connections_record()",
            """
            Records the clients' established TCP connections to the package's addresses (from /proc/net/tcp and \
            tcp6) in `.hanfs/tcp-connections` on the package's first file system, unless the record says the same \
            already; returns how many. The monitor does it every cycle, stop before the addresses go.
            """
        ) { call in
            let record = try clientConnections()
            let addresses = try requirePackage().addresses.map(\.address)
            return try call.push(.integer(Int64(try wrap { try record.record(addresses) })))
        }
    }

    private var connectionsPrompt: Binding {
        Binding(
            "connections_prompt", "connections_prompt{wait}",
            """
            Sends each recorded client connection to a package address present here a tickle ACK (an ACK it \
            cannot accept, from a raw socket bound to the address): the client answers, this node answers that \
            with a reset, and the client reconnects now instead of at its next TCP retransmission, seconds \
            later. Sent again every 0.55 s to those not yet connected anew, for at most `wait` seconds (1.2). \
            Returns how many were prompted and how many had reconnected.
            """
        ) { call in
            let o = try PrimitiveOptions(call, 1, known: ["wait"])
            let wait = try o.number("wait", 1.2)
            let record = try clientConnections()
            let addresses = try requirePackage().addresses.map(\.address)
            let (prompted, back) = try wrap { try record.prompt(addresses, wait: wait) }
            _ = try call.push(.integer(Int64(prompted)))
            return try call.push(.integer(Int64(back))) + 1
        }
    }
}
