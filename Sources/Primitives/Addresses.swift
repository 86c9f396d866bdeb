import Foundation
import Synchronization
import PackageConfig

/// An address on an interface, as `ip -o addr show` lists it.
public struct InterfaceAddress: Sendable, Equatable {
    public var interface: String
    public var address: String
    public var prefix: Int
    /// `tentative`, `dadfailed`, `secondary`, ...
    public var flags: [String]

    public init(interface: String, address: String, prefix: Int, flags: [String]) {
        self.interface = interface
        self.address = address
        self.prefix = prefix
        self.flags = flags
    }
}

/// Package IP addresses: added after a duplicate address check and announced
/// to the neighbours; removed at stop. Through iproute2.
public struct Addresses: Sendable {
    public let node: NodeContext
    /// The program and arguments that send the gratuitous ARPs in the
    /// background (`hanfs announce`); address and interface are appended.
    public var announcer: [String]
    /// Duplicate address probes begun ahead (`probeAhead`), for `add` to use.
    let ahead = ProbesAhead()
    /// How recent a probe made ahead must be for `add` to use it instead of probing.
    public static let aheadFreshness = 5.0

    public init(_ node: NodeContext, announcer: [String]) {
        self.node = node
        self.announcer = announcer
    }

    /// Begins `add`'s duplicate address probe now, in the background, so
    /// that it runs while the storage comes up: the address is not added
    /// before it, and under a cluster manager the node that had it has let
    /// it go (stopped, or fenced) before this start began. `add` of the same
    /// address and interface then waits for its result instead of probing,
    /// if it ended within `aheadFreshness` seconds; otherwise it probes
    /// again. Nothing for IPv6 (the kernel probes) or an address present here.
    public func probeAhead(_ a: PackageAddress, dadTimeout: Double, timeout: Double) throws {
        guard !a.address.isIPv6, dadTimeout > 0 else { return }
        let present = try list(timeout: timeout)
        guard !present.contains(where: { $0.address == a.address.description }) else { return }
        let (interface, _) = try placement(a, in: present)
        guard Arp.absent(on: interface) == nil else { return }  // add says why
        let probe = ProbesAhead.Probe()
        ahead.begin(ProbesAhead.key(a.address, interface), probe)
        let address = a.address, shouldStop = node.shouldStop
        node.effects.change("check, while the storage comes up, that no host answers ARP for \(address.description) on \(interface)") {
            Thread.detachNewThread {
                probe.finish(Result { try Arp.probe(interface: interface, address: address, timeout: dadTimeout, shouldStop: shouldStop) })
            }
        }
        // A plan says the probe here, once, and sends nothing.
        if node.planning { probe.finish(.success(nil)) }
    }

    public func list(timeout: Double = 10) throws -> [InterfaceAddress] {
        let r = try node.run(["ip", "-o", "addr", "show"], timeout: timeout, readOnly: true)
        return Self.parseList(r.stdoutText)
    }

    public static func parseList(_ text: String) -> [InterfaceAddress] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 4, f[2] == "inet" || f[2] == "inet6" else { return nil }
            let p = f[3].split(separator: "/")
            guard p.count == 2, let prefix = Int(p[1]), let a = IPAddress(String(p[0])) else { return nil }
            let name = String(f[1].split(separator: "@").first ?? "")
            let known = ["tentative", "dadfailed", "secondary", "deprecated", "optimistic", "noprefixroute"]
            return InterfaceAddress(interface: name, address: a.description, prefix: prefix, flags: f.filter(known.contains))
        }
    }

    /// Where the address goes: its interface and prefix, given or found from
    /// the interface that holds an address in the same subnet.
    public func placement(_ a: PackageAddress, in present: [InterfaceAddress]) throws -> (String, Int) {
        let address = a.address
        let subnet = a.subnet.map { ($0.network, $0.prefix) }
        let candidates = present.filter { p in
            guard p.address != address.description, let mine = IPAddress(p.address), mine.isIPv6 == address.isIPv6,
                !(mine.isIPv6 && mine.bytes.starts(with: [0xfe, 0x80]))
            else { return false }
            if let interface = a.interface, p.interface != interface { return false }
            let prefix = a.prefix ?? subnet?.1 ?? p.prefix
            if let (net, _) = subnet { return mine.sameNetwork(as: net, prefix: prefix) && address.sameNetwork(as: net, prefix: prefix) }
            return mine.sameNetwork(as: address, prefix: prefix)
        }
        if let interface = a.interface {
            if if_nametoindex(interface) == 0 {
                let missing = "interface \(interface) (for \(a.address.description)) is not on this node"
                guard node.planning else { throw PrimitiveError(missing) }
                node.effects.assume(missing + ": planned as if it were")
            }
            guard let prefix = a.prefix ?? subnet?.1 ?? candidates.first?.prefix else {
                throw PrimitiveError("\(a.address.description): no prefix length given, and \(interface) has no address in its subnet to take it from")
            }
            return (interface, prefix)
        }
        let interfaces = Set(candidates.map(\.interface))
        guard interfaces.count == 1, let c = candidates.first else {
            throw PrimitiveError(
                interfaces.isEmpty
                    ? "\(a.address.description): no interface has an address in \(a.subnet.map(\.description) ?? "its subnet"); name the interface"
                    : "\(a.address.description): \(interfaces.sorted().joined(separator: " and ")) are all in its subnet; name the interface")
        }
        return (c.interface, a.prefix ?? subnet?.1 ?? c.prefix)
    }

    /// Adds the address: present already on its interface is success; in use
    /// by another host (it answers ARP for it) is an error and nothing is
    /// added. Then announces it: `arpCount` gratuitous ARPs `arpInterval`
    /// apart, in the background. IPv6: the kernel's duplicate address
    /// detection is waited for, and the announcements are unsolicited
    /// neighbour advertisements.
    public func add(_ a: PackageAddress, arpCount: Int, arpInterval: Double, dadTimeout: Double = 0.5, timeout: Double)
        throws -> Outcome
    {
        let present = try list(timeout: timeout)
        let (interface, prefix) = try placement(a, in: present)
        if let here = present.first(where: { $0.address == a.address.description }) {
            guard here.interface == interface else {
                throw PrimitiveError("\(a.address.description) is already on \(here.interface), not \(interface)")
            }
            return .already
        }
        let address = a.address
        let noARP = address.isIPv6 ? nil : Arp.absent(on: interface)
        if let noARP {
            node.logger.info("\(address.description): no duplicate address probe and no gratuitous ARP: \(noARP)")
        }
        if !address.isIPv6 && dadTimeout > 0 && noARP == nil {
            let mac: String?
            if let probe = ahead.take(ProbesAhead.key(address, interface)), let result = probe.result(freshWithin: Self.aheadFreshness) {
                mac = try result.get()
                if mac == nil { node.logger.info("no host answered ARP for \(address.description) on \(interface) (probed ahead)") }
            } else {
                // The probe sends ARP requests: in a plan it is said, not sent.
                mac = try node.effects.change("check that no host answers ARP for \(address.description) on \(interface)", planned: nil) {
                    try Arp.probe(interface: interface, address: address, timeout: dadTimeout, shouldStop: node.shouldStop)
                }
            }
            if let mac {
                throw PrimitiveError("\(a.address.description) is in use by another host (\(mac) answers ARP for it on \(interface)): not added")
            }
        }
        try node.run(["ip", "addr", "add", "\(a.address.description)/\(prefix)", "dev", interface], timeout: timeout)
        if address.isIPv6 {
            try waitForDAD(a.address.description, interface: interface, prefix: prefix, until: Monotonic.now() + min(timeout, 10))
        }
        if arpCount > 0 && noARP == nil {
            // The first announcement from here, at once: the clients' next
            // packet (the answer to a prompt to reconnect) comes to this node.
            // The rest from the background.
            // Like the background's, a failure to announce is said, not an error.
            node.effects.change("announce \(address.description) on \(interface) (one \(address.isIPv6 ? "neighbour advertisement" : "gratuitous ARP"))") {
                do {
                    try Self.announce(address, on: interface, count: 1, interval: 0)
                } catch {
                    node.logger.warning("\(address.description) not announced on \(interface): \(error)")
                }
            }
        }
        if arpCount > 1 && noARP == nil {
            let duration = Double(arpCount - 1) * arpInterval + 5
            _ = try node.runner.run(
                Command(
                    announcer + ["--interface", interface, "--count", String(arpCount - 1), "--interval", String(arpInterval), a.address.description],
                    timeout: duration, background: true))
        }
        if !node.planning, try !list(timeout: timeout).contains(where: { $0.address == a.address.description && $0.interface == interface }) {
            throw PrimitiveError("ip reported success but \(a.address.description) is not on \(interface)")
        }
        return .done
    }

    /// Tells the neighbours on `interface` that `address` is here: gratuitous
    /// ARP, or for IPv6 unsolicited neighbour advertisements; `count` of
    /// them, `interval` apart.
    public static func announce(_ address: IPAddress, on interface: String, count: Int, interval: Double) throws {
        if address.isIPv6 {
            try NeighbourAdvertisement.announce(interface: interface, address: address, count: count, interval: interval)
        } else {
            try Arp.announce(interface: interface, address: address, count: count, interval: interval)
        }
    }

    func stopAnnouncements(of address: String) {
        let senders = ProcessTable.matching { argv in
            argv.count > announcer.count && Array(argv.prefix(announcer.count)) == announcer && argv.last == address
        }
        for pid in senders {
            node.effects.change("stop the announcements of \(address) (pid \(pid))") {
                if kill(pid, SIGTERM) == 0 { node.logger.info("stopped the announcements of \(address) still being sent (pid \(pid))") }
            }
        }
    }

    /// IPv6: the kernel probes for duplicates before the address is usable.
    func waitForDAD(_ address: String, interface: String, prefix: Int, until: Double) throws {
        guard !node.planning else { return }
        while true {
            let me = try list().first { $0.address == address && $0.interface == interface }
            if let me, me.flags.contains("dadfailed") {
                try node.run(["ip", "addr", "del", "\(address)/\(prefix)", "dev", interface], timeout: 10, check: false)
                throw PrimitiveError("\(address) failed duplicate address detection on \(interface): another host has it; removed")
            }
            if let me, !me.flags.contains("tentative") { return }
            if Monotonic.now() > until {
                throw PrimitiveError("\(address) is still tentative on \(interface) after the duplicate address detection time")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Removes the address; absent is success. Announcements of it still
    /// being sent (a stop right after a start) are stopped first.
    public func remove(_ a: PackageAddress, timeout: Double) throws -> Outcome {
        stopAnnouncements(of: a.address.description)
        let present = try list(timeout: timeout)
        guard let here = present.first(where: { $0.address == a.address.description }) else { return .already }
        if let interface = a.interface, here.interface != interface {
            throw PrimitiveError("\(a.address.description) is on \(here.interface), not on \(interface) as configured: not removed")
        }
        try node.run(["ip", "addr", "del", "\(a.address.description)/\(here.prefix)", "dev", here.interface], timeout: timeout)
        if !node.planning, try list(timeout: timeout).contains(where: { $0.address == a.address.description }) {
            throw PrimitiveError("ip reported success but \(a.address.description) is still on \(here.interface)")
        }
        return .done
    }
}

extension Addresses {
    /// The addresses on each interface, from getifaddrs (netlink): no process
    /// started, for the monitor's every cycle. getifaddrs does not give the
    /// flags `ip` shows (tentative, dadfailed), which ip_add needs: `list`.
    public static func present() -> [(interface: String, address: String)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [(String, String)] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr else { continue }
            let family = Int32(sa.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var buffer = [CChar](repeating: 0, count: 64)
            let source: UnsafeRawPointer = family == AF_INET
                ? UnsafeRawPointer(sa).advanced(by: 4) : UnsafeRawPointer(sa).advanced(by: 8)
            guard inet_ntop(family, source, &buffer, 64) != nil else { continue }
            let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            result.append((String(cString: entry.pointee.ifa_name), address))
        }
        return result
    }
}

/// The duplicate address probes begun ahead of their address step, by address and interface.
final class ProbesAhead: Sendable {
    private let probes = Mutex<[String: Probe]>([:])

    static func key(_ address: IPAddress, _ interface: String) -> String { "\(address.description)%\(interface)" }

    func begin(_ key: String, _ probe: Probe) { probes.withLock { $0[key] = probe } }
    func take(_ key: String) -> Probe? { probes.withLock { $0.removeValue(forKey: key) } }

    /// One probe running in the background: its result, once it has one.
    final class Probe: Sendable {
        private let outcome = Mutex<(result: Result<String?, any Error>, at: Double)?>(nil)
        private let done = DispatchSemaphore(value: 0)

        func finish(_ result: Result<String?, any Error>) {
            outcome.withLock { $0 = (result, Monotonic.now()) }
            done.signal()
        }

        /// Waits for it, then its result if it ended within `freshWithin`
        /// seconds, else nil.
        func result(freshWithin: Double) -> Result<String?, any Error>? {
            guard outcome.withLock({ $0 }) != nil || done.wait(timeout: .now() + 30) == .success else { return nil }
            guard let o = outcome.withLock({ $0 }), Monotonic.now() - o.at <= freshWithin else { return nil }
            return o.result
        }
    }
}
