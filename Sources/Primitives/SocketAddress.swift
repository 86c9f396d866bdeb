import Foundation
import PackageConfig

extension IPAddress {
    /// The address (and port) as a socket address of its family, for a
    /// call that takes one: bind, connect, sendto.
    func withSocketAddress<T>(port: UInt16 = 0, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if isIPv6 {
            var s = sockaddr_in6()
            s.sin6_family = sa_family_t(AF_INET6)
            s.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &s.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        var s = sockaddr_in()
        s.sin_family = sa_family_t(AF_INET)
        s.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &s.sin_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
}
