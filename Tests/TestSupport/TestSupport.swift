// What every test target needs: a scratch directory, and a look at /proc for
// processes a test must not leave behind.
import Foundation

/// A throwaway directory, removed when the value goes. Its path is short:
/// Lua shortens chunk names past 60 characters in messages.
public final class Scratch {
    public let path: String

    public init() throws {
        path = "/tmp/hanfs-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `relative` (making its directories); returns the full path.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        let file = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// An SM entry as rpc.statd writes it, for `client` monitored by `server`.
public func smEntry(_ client: String, server: String = "nfspkg") -> String {
    "0100007f 000186b5 00000003 00000010 00000000000000000000000000000000 \(client) \(server)\n"
}

/// The processes whose command line (arguments joined by spaces) is one of
/// `commandLines`, after a moment for signalled processes to go.
public func processes(withCommandLine commandLines: String...) throws -> [Int32] {
    usleep(50_000)
    return try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init).filter { pid in
        commandLine(of: pid).map { commandLines.contains($0) } ?? false
    }
}

/// A process's argument vector, space-separated; nil when it is gone.
public func commandLine(of pid: Int32) -> String? {
    FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map {
        $0.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}

/// Polls `probe` every 10 ms for up to `timeout` seconds until it gives a
/// value: a test waits for a condition, never for a fixed time.
public func eventually<T>(timeout: Double = 10, _ probe: () throws -> T?) rethrows -> T? {
    let until = Date().addingTimeInterval(timeout)
    while true {
        if let value = try probe() { return value }
        if Date() >= until { return nil }
        usleep(10_000)
    }
}
