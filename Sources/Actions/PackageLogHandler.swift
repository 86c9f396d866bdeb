import Foundation
import HostBindings
import Logging
import Primitives
import SafeFiles

/// The package's own log: one readable line per event, with the time, the
/// action, the step the script is in, and for each command its argv,
/// status, duration and the tail of its stderr,
///
///     2026-11-22T03:12:45.120Z start [check and mount 2 file system(s)] info ran: mount -t ext4 /dev/loop3 /srv/a (exited with status 0, 14 ms)
///
/// and beside it (`<log>.jsonl`) the same event as one JSON record, for
/// programs (the lab's timeline, the tests, a monitoring system):
///
///     {"action":"start","argv":["mount","-t","ext4","/dev/loop3","/srv/a"],"duration_ms":14,"event":"command","level":"info",...}
///
/// `event` says what it is: `step` (with `step`, the step's title),
/// `command` (`argv`, `status`, `duration_ms`, `stderr`), `action` (`phase`
/// start, done or failed, `duration_ms`), or `message`.
public struct PackageLogHandler: LogHandler {
    /// The open files, shared by every logger of the run.
    public final class Target: @unchecked Sendable {
        let fd: Int32
        let events: Int32
        let action: String
        let steps: RunReport
        let path: String
        /// The node's syslog, when the package logs there too.
        let syslog: SyslogSink?

        public init(path: String, action: String, steps: RunReport, logDirectory: String, syslog: SyslogSink? = nil) throws {
            do {
                fd = try LogFile.openForAppend(path, for: "the package log", ownDirectory: logDirectory)
            } catch {
                throw PrimitiveError("cannot open the package log: \(error.problem)")
            }
            do {
                events = try LogFile.openForAppend(
                    Self.eventsPath(path), for: "the package events", ownDirectory: logDirectory, format: .jsonLines)
            } catch {
                close(fd)
                throw PrimitiveError("cannot open the package events: \(error.problem)")
            }
            self.path = path
            self.action = action
            self.steps = steps
            self.syslog = syslog
        }

        /// The records beside the log.
        public static func eventsPath(_ logPath: String) -> String { logPath + ".jsonl" }

        deinit {
            close(fd)
            close(events)
        }

        /// One write per line: O_APPEND keeps lines whole even from several threads.
        func write(_ line: String, to file: Int32) {
            var line = line
            line.withUTF8 { _ = Glibc.write(file, $0.baseAddress, $0.count) }
        }
    }

    let label: String
    let target: Target
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(label: String, target: Target, level: Logger.Level) {
        self.label = label
        self.target = target
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let time = Timestamp.now(utc: true).iso
        let step = target.steps.step
        var line = "\(time) \(target.action)"
        if let step { line += " [\(step)]" }
        line += " \(event.level.rawValue)"
        if let at = event.metadata?["at"] { line += " \(at):" }
        line += " \(event.message.description.replacingOccurrences(of: "\n", with: " | ").escapingControlCharacters)\n"
        target.write(line, to: target.fd)
        target.write(Self.record(event, time: time, action: target.action, step: step), to: target.events)
        target.syslog?.send(event, action: target.action, step: step)
    }

    /// The event as one JSON line.
    static func record(_ event: LogEvent, time: String, action: String, step: String?) -> String {
        var fields: [String: Any] = [
            "time": time, "action": action, "level": event.level.rawValue, "message": event.message.description, "event": "message",
        ]
        if let step { fields["step"] = step }
        for (key, value) in event.metadata ?? [:] { fields[key] = json(value) }
        for key in ["duration_ms", "exit_status", "signal"] {
            if let text = fields[key] as? String, let n = Int(text) { fields[key] = n }
        }
        if fields["timed_out"] as? String == "true" { fields["timed_out"] = true }
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"event\":\"unencodable\",\"time\":\"\(time)\"}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let list): list.map(json)
        case .dictionary(let d): d.mapValues(json)
        }
    }
}
