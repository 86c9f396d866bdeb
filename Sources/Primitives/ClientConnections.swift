import Foundation
import PackageConfig
import SafeFiles

/// A client's TCP connection to a package address.
public struct TCPConnection: Sendable, Hashable, CustomStringConvertible {
    public var server: IPAddress
    public var serverPort: UInt16
    public var client: IPAddress
    public var clientPort: UInt16

    public init(server: IPAddress, serverPort: UInt16, client: IPAddress, clientPort: UInt16) {
        self.server = server
        self.serverPort = serverPort
        self.client = client
        self.clientPort = clientPort
    }

    /// `192.0.2.10 2049 192.0.2.100 812`: a line of the record.
    public var description: String { "\(server) \(serverPort) \(client) \(clientPort)" }

    public init?(line: Substring) {
        let f = line.split(separator: " ")
        guard f.count == 4, let s = IPAddress(String(f[0])), let sp = UInt16(f[1]), let c = IPAddress(String(f[2])),
            let cp = UInt16(f[3]), s.isIPv6 == c.isIPv6, sp > 0, cp > 0
        else { return nil }
        self.init(server: s, serverPort: sp, client: c, clientPort: cp)
    }
}

/// The clients' TCP connections to the package's addresses, kept on the
/// package's storage so that the node that takes the addresses over can
/// make each client reconnect at once. A client whose server went away
/// keeps its connection and retransmits on TCP's backoff (0.2, 0.6, 1.4,
/// 3.0, 6.2, 12.6, 25.4 s after the loss): it finds the new node only at
/// its next retransmission, seconds after the service is back. The new
/// node sends each recorded connection an ACK it cannot accept (sequence
/// and acknowledgement 0, a "tickle ACK", as CTDB does); the client
/// answers with its own ACK, which the new node, having no such
/// connection, answers with a reset, and the client reconnects.
///
/// Recorded by the monitor's every cycle (for a crash) and by stop before
/// the addresses go (for a planned move); read at start, once the server
/// and the addresses are up. The record is a text file, a connection per
/// line (`TCPConnection.description`), in a directory of root's on the
/// package's first file system, made and read without following links.
/// Only connections to the package's own addresses present on this node
/// are prompted, at most `limit`: a record written by someone else can
/// make hanfs send nothing but ACKs from those addresses.
public struct ClientConnections: Sendable {
    public let node: NodeContext
    /// The package's file system the record lives on (its mount point).
    public let fileSystem: String
    /// The record's directory below it, and its name.
    public static let directory = ".hanfs"
    public static let fileName = "tcp-connections"
    public static let limit = 4096

    public init(_ node: NodeContext, fileSystem: String) {
        self.node = node
        self.fileSystem = fileSystem
    }

    public var path: String { "\(fileSystem)/\(Self.directory)/\(Self.fileName)" }

    // MARK: the connections here

    /// The established TCP connections of this node (its network
    /// namespace) to `addresses`, from /proc/net/tcp and tcp6.
    public static func established(to addresses: Set<IPAddress>) -> [TCPConnection] {
        parse(procNetTCP: procNetTCP).filter { addresses.contains($0.server) }
    }

    /// The TCP ports something listens on here (a listening socket is read
    /// as a connection from 0.0.0.0 port 0).
    static func listeningPorts() -> Set<UInt16> { Set(parse(procNetTCP: procNetTCP, state: stateListen).map(\.serverPort)) }

    /// This node's TCP sockets, IPv4 and IPv6.
    static var procNetTCP: String { ["/proc/net/tcp", "/proc/net/tcp6"].compactMap { ProcFile.read($0) }.joined(separator: "\n") }

    /// The states of /proc/net/tcp's `st` column hanfs reads.
    public static let stateEstablished = "01", stateListen = "0A"

    /// The lines of /proc/net/tcp or tcp6 in `state` (ESTABLISHED unless
    /// told): `sl local rem st ...`, an address as the kernel's 32-bit words
    /// in hex, in host order.
    public static func parse(procNetTCP text: String, state: String = stateEstablished) -> [TCPConnection] {
        func endpoint(_ field: Substring) -> (IPAddress, UInt16)? {
            let p = field.split(separator: ":")
            guard p.count == 2, p[0].count == 8 || p[0].count == 32, let port = UInt16(p[1], radix: 16) else { return nil }
            var bytes: [UInt8] = []
            var word = p[0][...]
            while !word.isEmpty {
                guard let w = UInt32(word.prefix(8), radix: 16) else { return nil }
                withUnsafeBytes(of: w.littleEndian) { bytes += $0 }
                word = word.dropFirst(8)
            }
            guard let address = IPAddress(bytes: bytes) else { return nil }
            return (address.unmappedIPv4 ?? address, port)
        }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 4, f[3] == state, let (s, sp) = endpoint(f[1]), let (c, cp) = endpoint(f[2]) else { return nil }
            return TCPConnection(server: s, serverPort: sp, client: c, clientPort: cp)
        }
    }

    // MARK: the record

    /// Records the connections to `addresses` (those present here), unless
    /// the record already says the same. Returns how many there are.
    @discardableResult
    public func record(_ addresses: [IPAddress]) throws -> Int {
        let now = Set(Self.established(to: Set(addresses)).prefix(Self.limit))
        guard !node.planning else { return now.count }
        let dir = try open()
        if let (old, _) = try? read(dir), Set(old) == now { return now.count }
        let text = "# The clients' TCP connections to package addresses (server port client port), "
            + "recorded by hanfs on \(node.nodeName): the node that takes the addresses over prompts each to reconnect.\n"
            + now.map(\.description).sorted().joined(separator: "\n") + (now.isEmpty ? "" : "\n")
        var st = stat()
        st.st_mode = S_IFREG | 0o600
        clock_gettime(CLOCK_REALTIME, &st.st_mtim)
        st.st_atim = st.st_mtim
        do {
            try dir.write(Self.fileName, Array(text.utf8), like: st)
        } catch {
            throw PrimitiveError("the record of client connections: \(error.problem)")
        }
        return now.count
    }

    /// The recorded connections, and why any line was left out.
    public func recorded() throws -> (connections: [TCPConnection], ignored: [String]) {
        let dir = try open()
        guard dir.status(Self.fileName) != nil else { return ([], []) }
        return try read(dir)
    }

    private func open() throws -> Directory {
        guard (try MountTable.read()).entries.contains(where: { $0.mountPoint == fileSystem }) else {
            throw PrimitiveError("\(fileSystem) is not mounted: no record of client connections there")
        }
        do {
            return try Directory(fileSystem, "the package file system").subdirectory(Self.directory, mode: 0o700)
        } catch {
            throw PrimitiveError("the record of client connections: \(error.problem)")
        }
    }

    private func read(_ dir: Directory) throws -> ([TCPConnection], [String]) {
        let bytes: [UInt8], st: stat
        do {
            (bytes, st) = try dir.read(Self.fileName, limit: 64 * (Self.limit + 2))
        } catch {
            throw PrimitiveError("the record of client connections: \(error.problem)")
        }
        guard st.st_uid == 0, st.st_mode & 0o022 == 0 else {
            throw PrimitiveError("\(path) is not root's alone (owner \(st.st_uid), mode \(String(st.st_mode & 0o7777, radix: 8))): not used")
        }
        var list: [TCPConnection] = [], ignored: [String] = []
        for (n, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            guard let c = TCPConnection(line: line) else { ignored.append("line \(n + 1): not `server port client port`"); continue }
            guard list.count < Self.limit else { ignored.append("line \(n + 1) and after: more than \(Self.limit)"); break }
            list.append(c)
        }
        return (list, ignored)
    }

    // MARK: prompting the clients

    /// Sends each recorded connection to `addresses` present here a tickle
    /// ACK, again every `interval` (for one that was lost) to those its
    /// client has not yet opened anew here, for at most `wait` seconds. Returns how many
    /// were prompted and how many were back when it returned.
    public func prompt(_ addresses: [IPAddress], wait: Double = 1.2, interval: Double = 0.55) throws -> (prompted: Int, back: Int) {
        // A plan may be made before the storage is here to read.
        if node.planning {
            return node.effects.change("send each client recorded in \(path) a tickle ACK, to reconnect now", planned: (0, 0)) { (0, 0) }
        }
        let here = Set(Addresses.present().compactMap { IPAddress($0.address) })
        let mine = Set(addresses).intersection(here)
        let (all, ignored) = try recorded()
        for why in ignored { node.logger.warning("\(path), \(why): ignored") }
        let list = all.filter { mine.contains($0.server) }
        if list.count < all.count {
            node.logger.info("\(all.count - list.count) recorded connection(s) to addresses not the package's here: not prompted")
        }
        guard !list.isEmpty else { return (0, 0) }
        return try node.effects.change("send \(list.count) client connection(s) a tickle ACK, to reconnect now", planned: (list.count, 0)) {
            // A client reconnects from the same port (NFSv3) or another (NFSv4): a
            // connection is back when its client has as many to that address and port
            // here as were recorded. Those to a port nothing listens on here (lockd's,
            // which moves) are prompted once and not waited for: their client looks the
            // service up again.
            struct Group: Hashable { var server: IPAddress, port: UInt16, client: IPAddress }
            func group(_ c: TCPConnection) -> Group { Group(server: c.server, port: c.serverPort, client: c.client) }
            let recorded = Dictionary(grouping: list, by: group)
            let listening = Self.listeningPorts()
            var waiting = Set(recorded.keys.filter { listening.contains($0.port) })
            // How many of each group are back (a connection recorded from a port its
            // client no longer uses is one the client does not have: never back).
            var backIn: [Group: Int] = [:]
            for c in list { try TickleAck.send(c) }
            let began = Monotonic.now()
            var sent = began
            while !waiting.isEmpty {
                let now = Dictionary(grouping: Self.established(to: mine), by: group)
                for g in waiting { backIn[g] = min(now[g]?.count ?? 0, recorded[g]!.count) }
                waiting = waiting.filter { backIn[$0]! < recorded[$0]!.count }
                let t = Monotonic.now()
                guard !waiting.isEmpty, t < began + wait else { break }
                if t >= sent + interval {
                    for g in waiting { for c in recorded[g]! { try TickleAck.send(c) } }
                    sent = t
                }
                usleep(20_000)
            }
            let back = backIn.values.reduce(0, +)
            let untracked = recorded.filter { !listening.contains($0.key.port) }.values.map(\.count).reduce(0, +)
            let note = untracked > 0 ? " (\(untracked) to a port nothing listens on here: not waited for)" : ""
            node.logger.info(
                "prompted \(list.count) client connection(s) to reconnect: \(back) did within \(CommandResult.seconds(Monotonic.now() - began))\(note)",
                metadata: ["event": "clients_prompted", "prompted": "\(list.count - untracked)", "reconnected": "\(back)"])
            return (list.count, back)
        }
    }
}

/// A segment from the server's side of a connection that its client cannot
/// accept (sequence 0, acknowledgement 0, ACK set), through a raw socket
/// bound to the server address: the client answers it with an ACK of its
/// own. It carries one byte: Linux answers out-of-window segments without
/// data at most once per 500 ms per connection (tcp_invalid_ratelimit), and
/// a client's NFSv3 connection was seen to answer none of three such ACKs
/// 0.6 s apart (TcpExtTCPACKSkippedSeq); one with data it always answers.
public enum TickleAck {
    public static func send(_ c: TCPConnection) throws {
        let v6 = c.server.isIPv6
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
        guard fd >= 0 else { throw PrimitiveError("raw TCP socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let segment = self.segment(c)
        guard c.server.withSocketAddress({ bind(fd, $0, $1) }) == 0 else {
            throw PrimitiveError("bind a raw TCP socket to \(c.server): \(String(cString: strerror(errno)))")
        }
        let sent = c.client.withSocketAddress { address, length in
            segment.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        guard sent == segment.count else {
            throw PrimitiveError("sending a tickle ACK to \(c.client) port \(c.clientPort): \(String(cString: strerror(errno)))")
        }
    }

    /// The TCP header: ports, sequence 0, acknowledgement 0, ACK, a window,
    /// the checksum over the pseudo-header (RFC 793, RFC 8200 8.1); and a byte.
    public static func segment(_ c: TCPConnection) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        var tcp = be16(c.serverPort) + be16(c.clientPort) + [0, 0, 0, 0] + [0, 0, 0, 0]
        tcp += [0x50, 0x10] + be16(1234) + [0, 0] + [0, 0] + [0]
        let pseudo = c.server.isIPv6
            ? c.server.bytes + c.client.bytes + [0, 0, 0, UInt8(tcp.count), 0, 0, 0, 6]
            : c.server.bytes + c.client.bytes + [0, 6] + be16(UInt16(tcp.count))
        let checksum = Self.checksum(pseudo + tcp)
        tcp[16] = UInt8(checksum >> 8)
        tcp[17] = UInt8(checksum & 0xff)
        return tcp
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
