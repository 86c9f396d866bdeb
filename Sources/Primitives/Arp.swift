import Foundation
import PackageConfig

/// ARP on one interface, through a packet socket: the duplicate address
/// probe before an address is added, and the gratuitous announcements
/// after. Done here rather than with arping, whose interval is whole seconds.
public enum Arp {
    /// Asks who has `address`, `probes` times over `timeout` seconds; returns
    /// the MAC address of the first host that answers, nil if none does.
    public static func probe(
        interface: String, address: IPAddress, timeout: Double, probes: Int = 2,
        shouldStop: @Sendable () -> Bool = { false }
    ) throws -> String? {
        let link = try Link(interface)
        let frame = link.frame(op: 1, senderIP: [0, 0, 0, 0], targetIP: address.bytes)
        let start = Monotonic.now()
        for n in 0..<max(1, probes) {
            try link.send(frame)
            let until = start + timeout * Double(n + 1) / Double(max(1, probes))
            while case let left = until - Monotonic.now(), left > 0 {
                if shouldStop() { throw PrimitiveError("stopped during the duplicate address probe") }
                guard let reply = link.receive(timeout: min(left, 0.1)) else { continue }
                // An answer (op 2) from the address, or another host's own probe for it.
                if reply.senderIP == address.bytes || (reply.op == 1 && reply.senderIP == [0, 0, 0, 0] && reply.targetIP == address.bytes && reply.senderMAC != link.mac) {
                    return reply.senderMAC.map { String(format: "%02x", $0) }.joined(separator: ":")
                }
            }
        }
        return nil
    }

    /// Sends `count` gratuitous ARP requests for `address`, `interval` apart.
    public static func announce(interface: String, address: IPAddress, count: Int, interval: Double) throws {
        let link = try Link(interface)
        let frame = link.frame(op: 1, senderIP: address.bytes, targetIP: address.bytes)
        for n in 0..<count {
            if n > 0 { Thread.sleep(forTimeInterval: interval) }
            try link.send(frame)
        }
    }

    /// Why there is no ARP on `interface`: not an Ethernet link (a tunnel, a
    /// point-to-point link), or ARP turned off on it (NOARP); nil: there is.
    /// Probing or announcing there would fail, and would mean nothing.
    public static func absent(on interface: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // struct ifreq: name[16], then the sockaddr (its family: the hardware type) or the flags.
        var ifreq = [UInt8](repeating: 0, count: 40)
        for (i, b) in interface.utf8.prefix(15).enumerated() { ifreq[i] = b }
        let siocgifhwaddr: UInt = 0x8927, siocgifflags: UInt = 0x8913
        guard ioctl(fd, siocgifhwaddr, &ifreq) == 0 else { return nil }  // no such interface: the caller says so
        let type = UInt16(ifreq[16]) | UInt16(ifreq[17]) << 8
        if type != 1 { return "\(interface) is not an Ethernet link (hardware type \(type))" }
        guard ioctl(fd, siocgifflags, &ifreq) == 0 else { return nil }
        let flags = UInt16(ifreq[16]) | UInt16(ifreq[17]) << 8
        return flags & 0x80 != 0 ? "\(interface) has ARP turned off (NOARP)" : nil
    }

    struct Packet {
        var op: UInt16
        var senderMAC: [UInt8]
        var senderIP: [UInt8]
        var targetIP: [UInt8]
    }

    /// A packet socket bound to one interface for ARP frames.
    final class Link {
        let fd: Int32
        let index: Int32
        let mac: [UInt8]
        static let ethTypeARP: UInt16 = 0x0806

        init(_ interface: String) throws {
            index = Int32(if_nametoindex(interface))
            guard index > 0 else { throw PrimitiveError("no interface \(interface)") }
            fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(Self.ethTypeARP.bigEndian))
            guard fd >= 0 else { throw PrimitiveError("packet socket: \(String(cString: strerror(errno)))") }
            // SIOCGIFHWADDR on the socket: right in any network namespace
            // (/sys/class/net may show another one's). struct ifreq: name[16], sockaddr.
            var ifreq = [UInt8](repeating: 0, count: 40)
            for (i, b) in interface.utf8.prefix(15).enumerated() { ifreq[i] = b }
            let siocgifhwaddr: UInt = 0x8927
            guard ioctl(fd, siocgifhwaddr, &ifreq) == 0, ifreq[16] == 1 || ifreq[16] == 0 else {
                close(fd)
                throw PrimitiveError("\(interface) has no Ethernet address")
            }
            mac = Array(ifreq[18..<24])
            let sll = address()
            let bound = sll.withUnsafeBytes {
                bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
            guard bound == 0 else {
                let e = errno
                close(fd)
                throw PrimitiveError("bind to \(interface): \(String(cString: strerror(e)))")
            }
        }

        deinit { close(fd) }

        /// A `struct sockaddr_ll` (linux/if_packet.h, which Swift does not
        /// import), laid out by hand: family, protocol, ifindex, hatype,
        /// pkttype, halen, addr[8]: 20 bytes.
        func address() -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 20)
            withUnsafeBytes(of: UInt16(AF_PACKET)) { b.replaceSubrange(0..<2, with: $0) }
            withUnsafeBytes(of: Self.ethTypeARP.bigEndian) { b.replaceSubrange(2..<4, with: $0) }
            withUnsafeBytes(of: index) { b.replaceSubrange(4..<8, with: $0) }
            b[11] = 6
            for i in 12..<18 { b[i] = 0xff }
            return b
        }

        /// A broadcast ARP request (op 1) or reply (op 2) frame.
        func frame(op: UInt16, senderIP: [UInt8], targetIP: [UInt8]) -> [UInt8] {
            var f: [UInt8] = Array(repeating: 0xff, count: 6) + mac + [0x08, 0x06]
            f += [0x00, 0x01, 0x08, 0x00, 6, 4, UInt8(op >> 8), UInt8(op & 0xff)]
            f += mac + senderIP + Array(repeating: 0, count: 6) + targetIP
            return f
        }

        func send(_ frame: [UInt8]) throws {
            let sll = address()
            let n = frame.withUnsafeBytes { buf in
                sll.withUnsafeBytes {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
            }
            guard n == frame.count else { throw PrimitiveError("sending ARP: \(String(cString: strerror(errno)))") }
        }

        /// The next ARP packet within `timeout` seconds, skipping our own.
        func receive(timeout: Double) -> Packet? {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(max(1, timeout * 1000))) > 0 else { return nil }
            var buf = [UInt8](repeating: 0, count: 128)
            let n = recv(fd, &buf, buf.count, 0)
            guard n >= 42, buf[12] == 0x08, buf[13] == 0x06 else { return nil }
            let sender = Array(buf[22..<28])
            if sender == mac { return nil }
            return Packet(op: UInt16(buf[20]) << 8 | UInt16(buf[21]), senderMAC: sender, senderIP: Array(buf[28..<32]),
                          targetIP: Array(buf[38..<42]))
        }
    }
}
