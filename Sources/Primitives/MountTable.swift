import Foundation

/// One line of /proc/self/mountinfo.
public struct MountEntry: Sendable, Equatable {
    public var mountPoint: String
    /// The device number, `major:minor` in decimal.
    public var device: String
    public var type: String
    /// What was mounted (`/dev/loop3`, `tmpfs`).
    public var source: String
    public var options: String
}

/// The mounts this process sees, read from /proc (never from `mount`,
/// which can hang on a dead NFS server).
public struct MountTable: Sendable {
    public var entries: [MountEntry]

    public init(entries: [MountEntry]) { self.entries = entries }

    public static func read(_ path: String = "/proc/self/mountinfo") throws -> MountTable {
        guard let bytes = ProcFile.bytes(path) else {
            throw PrimitiveError("cannot read \(path)")
        }
        return MountTable(entries: bytes.split(separator: UInt8(ascii: "\n")).compactMap(parse))
    }

    /// `36 35 98:0 /mnt1 /mnt/a rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
    public static func parseLine(_ line: Substring) -> MountEntry? { parse(Array(line.utf8)[...]) }

    /// Parsed as bytes: a table is read at every mount and unmount.
    static func parse(_ line: ArraySlice<UInt8>) -> MountEntry? {
        let fields = line.split(separator: UInt8(ascii: " "))
        guard let dash = fields.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }), dash >= 6,
            fields.count >= dash + 3
        else { return nil }
        func text(_ f: ArraySlice<UInt8>) -> String { String(decoding: f, as: UTF8.self) }
        return MountEntry(
            mountPoint: unescape(fields[4]), device: text(fields[2]), type: text(fields[dash + 1]),
            source: unescape(fields[dash + 2]), options: text(fields[5]))
    }

    /// mountinfo writes space, tab, newline and backslash as \040 and the like.
    static func unescape(_ s: Substring) -> String { unescape(Array(s.utf8)[...]) }

    static func unescape(_ s: ArraySlice<UInt8>) -> String {
        guard s.contains(UInt8(ascii: "\\")) else { return String(decoding: s, as: UTF8.self) }
        var bytes: [UInt8] = []
        var u = s
        while let c = u.first {
            let digits = u.dropFirst().prefix(3)
            if c == UInt8(ascii: "\\"), digits.count == 3, digits.allSatisfy({ $0 >= 48 && $0 <= 55 }) {
                bytes.append(digits.reduce(0) { $0 &* 8 &+ ($1 - 48) })
                u = u.dropFirst(4)
            } else {
                bytes.append(c)
                u = u.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The mount on top at `path`, if any (the last one mounted there).
    public func mount(at path: String) -> MountEntry? { entries.last { $0.mountPoint == path } }

    /// The mounts strictly below `path`, deepest (and latest) first: the order to unmount them.
    public func mounts(below path: String) -> [MountEntry] {
        let prefix = path == "/" ? "/" : path + "/"
        return entries.enumerated().filter { $0.element.mountPoint.hasPrefix(prefix) }
            .sorted { ($0.element.mountPoint.count, $0.offset) > ($1.element.mountPoint.count, $1.offset) }
            .map(\.element)
    }

    /// Whether anything is mounted at or below `path`.
    public func isMounted(_ path: String) -> Bool { mount(at: path) != nil }
}

/// Device numbers and paths.
public enum DeviceFile {
    /// `major:minor` of a block device, following symlinks (/dev/vg/lv → /dev/dm-3).
    public static func number(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK else { return nil }
        return "\(major(st.st_rdev)):\(minor(st.st_rdev))"
    }

    static func major(_ dev: dev_t) -> UInt32 { UInt32((dev >> 8) & 0xfff) | UInt32((dev >> 32) & ~0xfff) }
    static func minor(_ dev: dev_t) -> UInt32 { UInt32(dev & 0xff) | UInt32((dev >> 12) & ~0xff) }
}

/// Files under /proc report a size of 0: they are read to the end here,
/// with plain read(2), however long they are.
public enum ProcFile {
    public static func read(_ path: String) -> String? { bytes(path).map { String(decoding: $0, as: UTF8.self) } }

    public static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? bytes : nil }
            bytes += buffer[0..<n]
        }
    }
}
