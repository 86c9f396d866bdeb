import Foundation
import Synchronization
import HostBindings
import Logging
import SafeFiles
import Primitives

/// Log lines on stderr (`12:00:01.234 info  ran: exportfs -v (exited with status 0, 3 ms)`),
/// and what scripts `print` plainly on stdout.
struct ConsoleLogHandler: LogHandler {
    let label: String
    private var level: Logger.Level
    var metadata: Logger.Metadata = [:]

    /// The REPL's `log_level(...)`: every log line's least level on stderr, from then on.
    static let override = Mutex<Logger.Level?>(nil)

    var logLevel: Logger.Level {
        get { label == LogLabel.print ? level : Self.override.withLock { $0 } ?? level }
        set { level = newValue }
    }

    init(label: String, level: Logger.Level) {
        self.label = label
        self.level = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log(level: event.level, message: event.message, metadata: event.metadata)
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?) {
        if label == LogLabel.print {
            Console.write(message.description + "\n", to: .standardOutput)
            return
        }
        var text = "\(Self.timestamp()) \(level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) "
        if let at = metadata?["at"] ?? self.metadata["at"] { text += "\(at): " }
        // One line per event: what a command printed is shown, never obeyed by the terminal.
        text += message.description.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0).escapingControlCharacters }.joined(separator: "\n") + "\n"
        Console.write(text, to: .standardError)
    }

    static func timestamp() -> String { Timestamp.now(utc: false).clock }
}

enum Console {
    enum Stream: Int32 {
        case standardOutput = 1
        case standardError = 2
    }

    /// Unbuffered writes, so log lines and printed values come out in order.
    static func write(_ text: String, to stream: Stream) {
        var text = text
        text.withUTF8 { buf in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(stream.rawValue, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 && errno != EINTR { return }
                if n > 0 { offset += n }
            }
        }
    }
}

