#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as bytes, parsed with inet_pton.
public struct IPAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        var v4 = in_addr()
        if !text.contains(":") {
            guard inet_pton(AF_INET, text, &v4) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &v6) { Array($0) }
    }

    /// From its 4 or 16 bytes, in network order.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public var isIPv6: Bool { bytes.count == 16 }

    /// The IPv4 address of an IPv4-mapped IPv6 one (::ffff:192.0.2.10), as a
    /// dual-stack socket shows an IPv4 peer; nil for any other.
    public var unmappedIPv4: IPAddress? {
        guard isIPv6, bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] else { return nil }
        return IPAddress(bytes: Array(bytes.suffix(4)))
    }
    public var bits: Int { bytes.count * 8 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var copy = bytes
        _ = inet_ntop(isIPv6 ? AF_INET6 : AF_INET, &copy, &buffer, 64)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether both addresses agree in the first `prefix` bits.
    public func sameNetwork(as other: IPAddress, prefix: Int) -> Bool {
        guard other.bytes.count == bytes.count, prefix >= 0, prefix <= bits else { return false }
        var left = prefix
        for i in 0..<bytes.count where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xff : ~(0xff >> UInt8(left))
            if bytes[i] & mask != other.bytes[i] & mask { return false }
            left -= 8
        }
        return true
    }

    /// `192.0.2.10/24` → (address, 24); `192.0.2.10` → (address, nil).
    public static func parse(cidr text: String) -> (IPAddress, Int?)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        guard parts.count == 2 else { return (address, nil) }
        guard let p = Int(parts[1]), p >= 0, p <= address.bits else { return nil }
        return (address, p)
    }
}

/// A subnet as Serviceguard's ip_subnet gives it: `192.0.2.0`, or with its
/// prefix length, `192.0.2.0/24`.
public struct Subnet: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefix: Int?

    public init(network: IPAddress, prefix: Int?) {
        self.network = network
        self.prefix = prefix
    }

    public init?(_ text: String) {
        guard let (network, prefix) = IPAddress.parse(cidr: text) else { return nil }
        self.init(network: network, prefix: prefix)
    }

    public var description: String { prefix.map { "\(network)/\($0)" } ?? network.description }
}
