import Foundation
import Primitives

/// A small NFS client for the lab, made of ONC RPC calls by hanfs itself:
/// what a real client keeps across a failover and libnfs's one-shot tools
/// do not: a file handle obtained before (NFSv3 and NFSv4) used after, and
/// an NLM lock taken before and reclaimed after, which makes the server's
/// rpc.statd monitor the client, so that the node that takes over notifies it.
public struct NFSClient: Sendable {
    public let server: String
    /// The name the client gives (NLM caller name, AUTH_SYS machine name).
    public let name: String
    public var timeout = 5.0

    public init(server: String, name: String) {
        self.server = server
        self.name = name
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: XDR

    struct Encoder {
        var bytes: [UInt8] = []
        mutating func u32(_ v: UInt32) { bytes += RPCPing.bigEndian(v) }
        mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xffff_ffff)) }
        mutating func opaque(_ data: [UInt8]) {
            u32(UInt32(data.count))
            bytes += data + [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
        }
        mutating func string(_ s: String) { opaque(Array(s.utf8)) }
    }

    struct Decoder {
        let bytes: [UInt8]
        var at = 0
        mutating func u32() throws -> UInt32 {
            guard at + 4 <= bytes.count else { throw Failure(description: "short reply") }
            defer { at += 4 }
            return UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
        mutating func opaque() throws -> [UInt8] {
            let n = Int(try u32())
            guard at + n <= bytes.count else { throw Failure(description: "short reply") }
            defer { at += n + (4 - n % 4) % 4 }
            return Array(bytes[at..<at + n])
        }
        mutating func skip(_ n: Int) { at += n }
    }

    /// AUTH_SYS as root on `name`.
    var credential: [UInt8] {
        var e = Encoder()
        e.u32(0)  // stamp
        e.string(name)
        e.u32(0)  // uid
        e.u32(0)  // gid
        e.u32(0)  // no more groups
        return e.bytes
    }

    func call(_ program: UInt32, _ version: UInt32, _ procedure: UInt32, _ args: [UInt8], what: String) throws -> Decoder {
        let deadline = Monotonic.now() + timeout
        let port = try RPCPing.port(host: server, program: program, version: version, transport: .tcp, deadline: deadline)
        let reply = try RPCPing.call(
            host: server, port: port, program: program, version: version, procedure: procedure, arguments: args,
            transport: .tcp, deadline: deadline, what: what, credential: credential)
        return Decoder(bytes: reply)
    }

    // MARK: NFSv3

    /// MOUNT's MNT: the root file handle of an export.
    public func mount(_ path: String) throws -> [UInt8] {
        var e = Encoder()
        e.string(path)
        var d = try call(100005, 3, 1, e.bytes, what: "mountd")
        let status = try d.u32()
        guard status == 0 else { throw Failure(description: "MNT \(path): error \(status)") }
        return try d.opaque()
    }

    /// LOOKUP of `name` in a directory: its file handle.
    public func lookup3(_ directory: [UInt8], _ name: String) throws -> [UInt8] {
        var e = Encoder()
        e.opaque(directory)
        e.string(name)
        var d = try call(100003, 3, 3, e.bytes, what: "nfs")
        let status = try d.u32()
        guard status == 0 else { throw Failure(description: "LOOKUP \(name): \(Self.nfs3Error(status))") }
        return try d.opaque()
    }

    /// READ of a file handle from offset 0: what it holds (up to `count` bytes).
    public func read3(_ fh: [UInt8], count: UInt32 = 65536) throws -> [UInt8] {
        var e = Encoder()
        e.opaque(fh)
        e.u64(0)
        e.u32(count)
        var d = try call(100003, 3, 6, e.bytes, what: "nfs")
        let status = try d.u32()
        guard status == 0 else { throw Failure(description: "READ: \(Self.nfs3Error(status))") }
        if try d.u32() == 1 { d.skip(84) }  // post_op_attr: fattr3
        _ = try d.u32()  // count
        _ = try d.u32()  // eof
        return try d.opaque()
    }

    /// WRITE with FILE_SYNC: `data` at `offset`, on stable storage before the
    /// server answers. Returns once all of it is acknowledged.
    public func write3(_ fh: [UInt8], offset: UInt64, _ data: [UInt8]) throws {
        var e = Encoder()
        e.opaque(fh)
        e.u64(offset)
        e.u32(UInt32(data.count))
        e.u32(2)  // FILE_SYNC
        e.opaque(data)
        var d = try call(100003, 3, 7, e.bytes, what: "nfs")
        let status = try d.u32()
        guard status == 0 else { throw Failure(description: "WRITE: \(Self.nfs3Error(status))") }
        if try d.u32() == 1 { d.skip(24) }  // wcc_data: pre_op_attr
        if try d.u32() == 1 { d.skip(84) }  // post_op_attr
        let count = try d.u32()
        let committed = try d.u32()
        guard count == data.count, committed == 2 else {
            throw Failure(description: "WRITE: \(count) of \(data.count) bytes, committed \(committed) (not FILE_SYNC)")
        }
    }

    /// The record a writer writes as its `n`th: 16 bytes, at offset 16 × n.
    public static func record(_ n: Int) -> [UInt8] { Array(String(format: "record %08d\n", n).utf8) }

    /// The numbers of the records that are not at their place in `data`.
    static func missingRecords(_ numbers: [Int], in data: [UInt8]) -> [Int] {
        numbers.filter { n in
            let record = record(n)
            let at = n * record.count
            return at + record.count > data.count || Array(data[at..<at + record.count]) != record
        }
    }

    static func nfs3Error(_ status: UInt32) -> String {
        [70: "stale file handle (NFS3ERR_STALE)", 2: "no such file (NFS3ERR_NOENT)", 13: "access denied (NFS3ERR_ACCES)",
         10008: "try again later (NFS3ERR_JUKEBOX)", 10001: "bad handle (NFS3ERR_BADHANDLE)"][status] ?? "error \(status)"
    }

    // MARK: NFSv4.0

    func compound(_ ops: (inout Encoder) -> Void, count: UInt32) throws -> Decoder {
        var e = Encoder()
        e.string("hanfs-lab")  // tag
        e.u32(0)  // minor version 0
        e.u32(count)
        ops(&e)
        var d = try call(100003, 4, 1, e.bytes, what: "nfs")
        let status = try d.u32()
        _ = try d.opaque()  // tag
        _ = try d.u32()  // results
        guard status == 0 else { throw Failure(description: "COMPOUND: \(Self.nfs4Error(status))") }
        return d
    }

    /// PUTROOTFH, LOOKUP each component, GETFH: the file handle of a path.
    public func handle4(_ path: String) throws -> [UInt8] {
        let parts = path.split(separator: "/").map(String.init)
        var d = try compound({ e in
            e.u32(24)  // PUTROOTFH
            for p in parts {
                e.u32(15)  // LOOKUP
                e.string(p)
            }
            e.u32(10)  // GETFH
        }, count: UInt32(parts.count + 2))
        for _ in 0..<(parts.count + 1) {
            _ = try d.u32()  // op
            _ = try d.u32()  // status (0: the compound succeeded)
        }
        _ = try d.u32()  // GETFH
        _ = try d.u32()
        return try d.opaque()
    }

    /// PUTFH, GETATTR (type, size): whether the handle still names the file; its size.
    public func getattr4(_ fh: [UInt8]) throws -> UInt64 {
        var d = try compound({ e in
            e.u32(22)  // PUTFH
            e.opaque(fh)
            e.u32(9)  // GETATTR
            e.u32(1)  // bitmap: one word
            e.u32(1 << 1 | 1 << 4)  // type, size
        }, count: 2)
        _ = try d.u32()
        _ = try d.u32()  // PUTFH
        _ = try d.u32()
        _ = try d.u32()  // GETATTR
        let words = try d.u32()  // the attribute mask returned
        d.skip(Int(words) * 4)
        let attributes = try d.opaque()
        guard attributes.count >= 12 else { throw Failure(description: "GETATTR: short attributes") }
        var a = Decoder(bytes: attributes)
        _ = try a.u32()  // type
        return UInt64(try a.u32()) << 32 | UInt64(try a.u32())
    }

    static func nfs4Error(_ status: UInt32) -> String {
        [70: "stale file handle (NFS4ERR_STALE)", 10013: "in grace (NFS4ERR_GRACE)", 10014: "file handle expired (NFS4ERR_FHEXPIRED)",
         2: "no such file (NFS4ERR_NOENT)", 10001: "bad handle (NFS4ERR_BADHANDLE)"][status] ?? "error \(status)"
    }

    // MARK: NLM

    /// NLM4 LOCK, non-blocking and exclusive, of the whole file; `reclaim`
    /// in the grace period after a server restart. Returns NLM's status word.
    public func lock(_ fh: [UInt8], reclaim: Bool, state: UInt32 = 1) throws -> UInt32 {
        var e = Encoder()
        e.opaque(Array("hanfs-lab".utf8))  // cookie
        e.u32(0)  // block: no
        e.u32(1)  // exclusive
        e.string(name)  // caller name
        e.opaque(fh)
        e.opaque(Array("\(name)-owner".utf8))  // owner handle
        e.u32(4242)  // svid
        e.u64(0)  // offset
        e.u64(0)  // length: to the end
        e.u32(reclaim ? 1 : 0)
        e.u32(state)
        var d = try call(100021, 4, 2, e.bytes, what: "nlockmgr")
        _ = try d.opaque()  // cookie
        return try d.u32()
    }

    public static func nlmStatus(_ s: UInt32) -> String {
        ["granted", "denied", "denied: no locks", "blocked", "denied: grace period", "deadlock", "read-only file system",
         "stale file handle", "file too big", "failed"][Int(min(s, 9))]
    }
}

extension Array where Element == UInt8 {
    public var hex: String { map { String(format: "%02x", $0) }.joined() }
    public init?(hex: String) {
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
            bytes.append(b)
            i = j
        }
        self = bytes
    }
}
