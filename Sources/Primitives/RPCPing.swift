import Foundation
import PackageConfig

/// ONC RPC (RFC 5531) NULL calls, made natively: is an RPC service there and
/// answering? The port comes from rpcbind (PMAP_GETPORT, version 2), then
/// the service gets a NULL call, over UDP or TCP, each under a hard
/// deadline: a stopped rpcbind that accepts and never answers costs at most
/// the timeout, never 75 s as rpcinfo did. No process is started.
public enum RPCPing {
    /// The netids: UDP or TCP, over IPv4 or IPv6.
    public enum Transport: String, Sendable, CaseIterable {
        case udp, tcp, udp6, tcp6
        var protocolNumber: UInt32 { isUDP ? 17 : 6 }
        var isUDP: Bool { self == .udp || self == .udp6 }
        public var isIPv6: Bool { self == .udp6 || self == .tcp6 }
        /// This node's own address over it.
        public var loopback: String { isIPv6 ? "::1" : "127.0.0.1" }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Well-known programs, for messages.
    public static let names: [UInt32: String] = [
        100000: "rpcbind", 100003: "nfs", 100005: "mountd", 100011: "rquotad", 100021: "nlockmgr", 100024: "status",
    ]

    /// Asks rpcbind at `host` for the port of `program`/`version`, then
    /// makes a NULL call to it; throws a Failure naming what did not answer.
    public static func ping(
        host: String? = nil, program: UInt32, version: UInt32, transport: Transport = .udp, timeout: Double = 2
    ) throws {
        let host = host ?? transport.loopback
        let deadline = Monotonic.now() + timeout
        let name = names[program].map { "\($0) (\(program))" } ?? String(program)
        var port: UInt16 = 111
        if program != 100000 {
            do {
                port = try Self.port(host: host, program: program, version: version, transport: transport, deadline: deadline)
            } catch let f as Failure where f.description.hasSuffix("is not registered with rpcbind (\(transport.rawValue))") {
                throw Failure(description: "\(name) version \(version) is not registered with rpcbind (\(transport.rawValue))")
            }
        }
        _ = try call(host: host, port: port, program: program, version: version, procedure: 0, arguments: [],
                     transport: transport, deadline: deadline, what: name)
    }

    /// Seconds rpcbind has to answer before a step that needs it is given up.
    public static let rpcbindTimeout = 2.0

    /// Throws at once when this node's rpcbind does not answer: a step that
    /// registers with it (statd, NFS-Ganesha) would otherwise wait out its
    /// whole timeout, and stop what ran for nothing. `consequence` says what
    /// is left as it was.
    public static func requireRpcbind(_ consequence: String) throws {
        do {
            try ping(program: 100000, version: 2, transport: .udp, timeout: rpcbindTimeout)
        } catch {
            throw PrimitiveError("rpcbind does not answer on this node (\(error)): \(consequence)")
        }
    }

    /// An XDR string: its length, its bytes, padded to four.
    static func xdrString(_ s: String) -> [UInt8] {
        let bytes = Array(s.utf8)
        return bigEndian(UInt32(bytes.count)) + bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }

    public static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// The port rpcbind at `host` gives for `program`/`version`: by
    /// PMAP_GETPORT over IPv4, by RPCB_GETADDR (version 4) with the netid over
    /// IPv6, where the answer is a universal address (`::1.8.1`: port 2049).
    public static func port(host: String, program: UInt32, version: UInt32, transport: Transport, deadline: Double) throws -> UInt16 {
        if transport.isIPv6 {
            let args = bigEndian(program) + bigEndian(version) + xdrString(transport.rawValue) + xdrString("") + xdrString("")
            let reply = try call(host: host, port: 111, program: 100000, version: 4, procedure: 3, arguments: args,
                                 transport: transport, deadline: deadline, what: "rpcbind")
            guard reply.count >= 4 else { throw Failure(description: "rpcbind: short GETADDR reply") }
            let length = Int(UInt32(reply[0]) << 24 | UInt32(reply[1]) << 16 | UInt32(reply[2]) << 8 | UInt32(reply[3]))
            guard length <= reply.count - 4 else { throw Failure(description: "rpcbind: short GETADDR reply") }
            let address = String(decoding: reply[4..<4 + length], as: UTF8.self)
            let parts = address.split(separator: ".")
            guard length > 0, parts.count >= 3, let high = UInt16(parts[parts.count - 2]), let low = UInt16(parts[parts.count - 1]),
                high < 256, low < 256, high | low != 0
            else {
                throw Failure(description: "\(names[program] ?? String(program)) version \(version) is not registered with rpcbind (\(transport.rawValue))")
            }
            return high << 8 | low
        }
        var args = [UInt8]()
        for v in [program, version, transport.protocolNumber, 0] { args += bigEndian(v) }
        let reply = try call(host: host, port: 111, program: 100000, version: 2, procedure: 3, arguments: args,
                             transport: transport, deadline: deadline, what: "rpcbind")
        guard reply.count >= 4 else { throw Failure(description: "rpcbind: short GETPORT reply") }
        let port = UInt32(reply[0]) << 24 | UInt32(reply[1]) << 16 | UInt32(reply[2]) << 8 | UInt32(reply[3])
        guard port != 0, port < 65536 else {
            throw Failure(description: "\(names[program] ?? String(program)) version \(version) is not registered with rpcbind (\(transport.rawValue))")
        }
        return UInt16(port)
    }

    /// One call; returns the reply's results (after an accepted, successful
    /// reply header). `credential`: an AUTH_SYS body, else AUTH_NONE.
    public static func call(
        host: String, port: UInt16, program: UInt32, version: UInt32, procedure: UInt32, arguments: [UInt8],
        transport: Transport, deadline: Double, what: String, credential: [UInt8]? = nil
    ) throws -> [UInt8] {
        let xid = UInt32.random(in: 1...UInt32.max)
        // xid, CALL, RPC version 2, program, version, procedure, credential, AUTH_NONE verifier.
        var message = [UInt8]()
        for v in [xid, 0, 2, program, version, procedure] { message += bigEndian(v) }
        if let credential {
            message += bigEndian(1) + bigEndian(UInt32(credential.count)) + credential
        } else {
            message += bigEndian(0) + bigEndian(0)
        }
        message += bigEndian(0) + bigEndian(0)
        message += arguments
        let fd = try connect(host: host, port: port, transport: transport, what: what)
        defer { close(fd) }
        if !transport.isUDP {
            try wait(fd, for: Int16(POLLOUT), until: deadline, what: what)
            var error: Int32 = 0
            var length = socklen_t(4)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw Failure(description: "\(what): cannot connect to \(host):\(port) (\(String(cString: strerror(error))))") }
            // Record marking: the last (only) fragment.
            message = bigEndian(0x8000_0000 | UInt32(message.count)) + message
        }
        guard send(fd, message, message.count, Int32(MSG_NOSIGNAL)) == message.count else {
            throw Failure(description: "\(what): cannot send to \(host):\(port) (\(String(cString: strerror(errno))))")
        }
        var reply = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            try wait(fd, for: Int16(POLLIN), until: deadline, what: what)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard n > 0 else {
                throw Failure(description: "\(what): \(n == 0 ? "connection closed" : String(cString: strerror(errno))) at \(host):\(port)")
            }
            reply += buffer[0..<n]
            if transport.isUDP { break }
            // TCP: one fragment, whole once its length has arrived.
            if reply.count >= 4 {
                let length = Int(UInt32(reply[0] & 0x7f) << 24 | UInt32(reply[1]) << 16 | UInt32(reply[2]) << 8 | UInt32(reply[3]))
                if reply.count >= 4 + length { reply = Array(reply[4..<4 + length]); break }
            }
        }
        // xid, REPLY(1), MSG_ACCEPTED(0), verifier (flavor, length, body), SUCCESS(0), results.
        func word(_ i: Int) -> UInt32? {
            guard reply.count >= i * 4 + 4 else { return nil }
            return UInt32(reply[i * 4]) << 24 | UInt32(reply[i * 4 + 1]) << 16 | UInt32(reply[i * 4 + 2]) << 8 | UInt32(reply[i * 4 + 3])
        }
        guard word(0) == xid, word(1) == 1 else { throw Failure(description: "\(what): a reply that is not ours") }
        guard word(2) == 0 else { throw Failure(description: "\(what): call denied") }
        guard let verifierLength = word(4) else { throw Failure(description: "\(what): short reply") }
        let status = 5 + (Int(verifierLength) + 3) / 4
        guard let accept = word(status) else { throw Failure(description: "\(what): short reply") }
        guard accept == 0 else {
            let why = [1: "program unavailable", 2: "version mismatch", 3: "procedure unavailable", 4: "garbage arguments"][Int(accept)] ?? "error \(accept)"
            throw Failure(description: "\(what): \(why)")
        }
        return Array(reply[((status + 1) * 4)...])
    }

    /// A non-blocking socket connecting to host:port over the transport (a
    /// TCP connect still under way: the caller waits for it).
    static func connect(host: String, port: UInt16, transport: Transport, what: String) throws -> Int32 {
        guard let address = IPAddress(host), address.isIPv6 == transport.isIPv6 else {
            throw Failure(description: "\(host) is not an \(transport.isIPv6 ? "IPv6" : "IPv4") address")
        }
        let fd = socket(transport.isIPv6 ? AF_INET6 : AF_INET,
                        Int32(transport.isUDP ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let connected = address.withSocketAddress(port: port) { Glibc.connect(fd, $0, $1) }
        if connected != 0 && errno != EINPROGRESS {
            close(fd)
            throw Failure(description: "\(what): cannot connect to \(host):\(port) (\(String(cString: strerror(errno))))")
        }
        return fd
    }

    static func wait(_ fd: Int32, for events: Int16, until deadline: Double, what: String) throws {
        while true {
            let left = deadline - Monotonic.now()
            guard left > 0 else { throw Failure(description: "\(what): no answer within the timeout") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(max(1, left * 1000)))
            if r > 0 { return }
            if r < 0 && errno != EINTR { throw Failure(description: "\(what): poll: \(String(cString: strerror(errno)))") }
        }
    }
}
