import Foundation
import HostBindings
import Primitives
import Logging
import SafeFiles

/// The package's own log file: one line per event, with the time, the
/// action, the step the script is in, and for each command its argv, status,
/// duration and the tail of its stderr (in the message and metadata the
/// command runner logs).
///
///     2026-11-22T03:12:45.120Z start [check and mount 2 file system(s)] info ran: mount -t ext4 /dev/loop3 /srv/a (exited with status 0, 14 ms)
public struct PackageLogHandler: LogHandler {
    /// The open file, shared by every logger of the run.
    public final class Target: @unchecked Sendable {
        let fd: Int32
        let action: String
        let steps: RunReport
        let path: String

        public init(path: String, action: String, steps: RunReport, logDirectory: String) throws {
            do {
                fd = try LogFile.openForAppend(path, for: "the package log", ownDirectory: logDirectory)
            } catch {
                throw PrimitiveError("cannot open the package log: \(error.problem)")
            }
            self.path = path
            self.action = action
            self.steps = steps
        }

        deinit { close(fd) }

        /// One write per line: O_APPEND keeps lines whole even from several threads.
        func write(_ line: String) {
            var line = line
            line.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
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
        var line = "\(Self.timestamp()) \(target.action)"
        if let step = target.steps.step { line += " [\(step)]" }
        line += " \(event.level.rawValue)"
        if let at = event.metadata?["at"] { line += " \(at):" }
        line += " \(event.message.description.replacingOccurrences(of: "\n", with: " | ").escapingControlCharacters)\n"
        target.write(line)
    }

    static func timestamp() -> String { Timestamp.now(utc: true).iso }
}
