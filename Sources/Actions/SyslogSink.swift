import Foundation
import Logging
import PackageConfig

/// Each package log event also to the node's syslog, where admins look and
/// where the journal picks it up. Where journald runs, its native protocol
/// (/run/systemd/journal/socket) carries the package, the action, the step
/// and each command's argv, status and duration as fields of their own
/// (`journalctl HANFS_PACKAGE=nfspkg`); elsewhere the syslog socket (/dev/log:
/// rsyslog, busybox syslogd) gets an RFC 3164 line, `hanfs[pid]: nfspkg start
/// [step]: message`. A datagram that cannot be sent (no syslog daemon) is
/// dropped: the package's own log file stays the record.
public final class SyslogSink: @unchecked Sendable {
    public enum Transport: Sendable, Equatable { case journal, syslog }

    let fd: Int32
    let address: sockaddr_un
    let transport: Transport
    let facility: Int
    let identity: String
    let package: String

    /// The syslog facilities hanfs logs under, by name, with their codes.
    public static let facilities: [(String, Int)] = [
        ("user", 1), ("daemon", 3), ("local0", 16), ("local1", 17), ("local2", 18), ("local3", 19), ("local4", 20),
        ("local5", 21), ("local6", 22), ("local7", 23),
    ]

    /// Where to send: `socket` if given (HANFS_SYSLOG_SOCKET; a path ending
    /// in `journal/socket` speaks the journal's protocol), else the
    /// journal's socket where it exists, else /dev/log. Nil when no socket is there.
    public init?(package: String, facility: String, identity: String, socket: String? = nil) {
        let journal = "/run/systemd/journal/socket"
        let path = socket ?? (FileManager.default.fileExists(atPath: journal) ? journal : "/dev/log")
        guard FileManager.default.fileExists(atPath: path), path.utf8.count < 108 else { return nil }
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &a.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.address = a
        self.transport = path.hasSuffix("journal/socket") ? .journal : .syslog
        self.facility = Self.facilities.first { $0.0 == facility }?.1 ?? 3
        self.identity = identity
        self.package = package
    }

    deinit { close(fd) }

    /// syslog's severity for a log level.
    static func severity(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func send(_ event: LogEvent, action: String, step: String?) {
        let bytes: [UInt8]
        switch transport {
        case .journal: bytes = journalEntry(event, action: action, step: step)
        case .syslog: bytes = Array(line(event, action: action, step: step, time: Date()).utf8)
        }
        var a = address
        _ = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }

    /// `<PRI>Mmm dd hh:mm:ss ident[pid]: package action [step]: message`, one line.
    public func line(_ event: LogEvent, action: String, step: String?, time: Date) -> String {
        let where_ = step.map { " [\($0)]" } ?? ""
        let message = event.message.description.replacingOccurrences(of: "\n", with: " | ")
        return "<\(facility * 8 + Self.severity(event.level))>\(Self.stamp(time)) \(identity)[\(getpid())]: \(package) \(action)\(where_): \(message)"
    }

    /// RFC 3164's local time, `Dec  4 10:00:00`: the day of the month space-padded to two places.
    static func stamp(_ time: Date) -> String {
        var t = time_t(time.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(format: "%@ %2d %02d:%02d:%02d", months[Int(parts.tm_mon)], parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// The journal's native protocol: `FIELD=value` lines; a value with a
    /// newline as the field name, a newline, its length (64 bits, little
    /// endian), the bytes and a newline.
    public func journalEntry(_ event: LogEvent, action: String, step: String?) -> [UInt8] {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description), ("PRIORITY", String(Self.severity(event.level))),
            ("SYSLOG_FACILITY", String(facility)), ("SYSLOG_IDENTIFIER", identity), ("SYSLOG_PID", String(getpid())),
            ("HANFS_PACKAGE", package), ("HANFS_ACTION", action),
        ]
        if let step { fields.append(("HANFS_STEP", step)) }
        let names = ["event": "HANFS_EVENT", "argv": "HANFS_ARGV", "status": "HANFS_STATUS", "exit_status": "HANFS_EXIT_STATUS",
                     "duration_ms": "HANFS_DURATION_MS", "phase": "HANFS_PHASE", "at": "HANFS_AT"]
        for (key, field) in names.sorted(by: { $0.key < $1.key }) {
            guard let value = event.metadata?[key] else { continue }
            if case .array(let list) = value {
                fields.append((field, list.map(\.description).joined(separator: " ")))
            } else {
                fields.append((field, value.description))
            }
        }
        var out: [UInt8] = []
        for (name, value) in fields {
            let bytes = Array(value.utf8)
            if bytes.contains(0x0A) {
                out += Array(name.utf8) + [0x0A]
                withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out += $0 }
                out += bytes + [0x0A]
            } else {
                out += Array("\(name)=".utf8) + bytes + [0x0A]
            }
        }
        return out
    }
}
