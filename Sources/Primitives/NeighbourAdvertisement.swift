import Foundation
import PackageConfig

/// IPv6's gratuitous ARP: unsolicited Neighbour Advertisements (RFC 4861
/// 7.2.6) to all nodes, with the override flag and this interface's MAC, so
/// that neighbours update the entry they have for the address.
public enum NeighbourAdvertisement {
    public static func announce(interface: String, address: IPAddress, count: Int, interval: Double) throws {
        guard address.isIPv6 else { throw PrimitiveError("\(address) is not an IPv6 address") }
        let index = if_nametoindex(interface)
        guard index > 0 else { throw PrimitiveError("no interface \(interface)") }
        let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { throw PrimitiveError("ICMPv6 socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // Neighbour discovery messages must carry hop limit 255.
        var hops: Int32 = 255
        var ifindex = Int32(index)
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, 4) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &ifindex, 4) == 0
        else { throw PrimitiveError("ICMPv6 socket options: \(String(cString: strerror(errno)))") }

        // From the address itself.
        var source = sockaddr_in6()
        source.sin6_family = sa_family_t(AF_INET6)
        withUnsafeMutableBytes(of: &source.sin6_addr) { $0.copyBytes(from: address.bytes) }
        source.sin6_scope_id = index
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else { throw PrimitiveError("bind to \(address): \(String(cString: strerror(errno)))") }

        // The interface's MAC (struct ifreq: name[16], then a sockaddr).
        var ifreq = [UInt8](repeating: 0, count: 40)
        for (i, b) in interface.utf8.prefix(15).enumerated() { ifreq[i] = b }
        let siocgifhwaddr: UInt = 0x8927
        guard ioctl(fd, siocgifhwaddr, &ifreq) == 0 else { throw PrimitiveError("\(interface) has no link-layer address") }
        let mac = Array(ifreq[18..<24])

        // Type 136, code 0, checksum (the kernel fills it), flags: override;
        // the target; option 2 (target link-layer address), 8 bytes long.
        let message: [UInt8] = [136, 0, 0, 0, 0x20, 0, 0, 0] + address.bytes + [2, 1] + mac
        var destination = sockaddr_in6()
        destination.sin6_family = sa_family_t(AF_INET6)
        let allNodes: [UInt8] = [0xff, 0x02] + Array(repeating: 0, count: 13) + [1]
        withUnsafeMutableBytes(of: &destination.sin6_addr) { $0.copyBytes(from: allNodes) }
        destination.sin6_scope_id = index
        for n in 0..<count {
            if n > 0 { Thread.sleep(forTimeInterval: interval) }
            let sent = message.withUnsafeBytes { buf in
                withUnsafePointer(to: &destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            }
            guard sent == message.count else {
                throw PrimitiveError("sending the neighbour advertisement: \(String(cString: strerror(errno)))")
            }
        }
    }
}
