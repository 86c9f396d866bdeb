import Actions
import Foundation
import Logging
import Testing

/// What a package log event looks like on each syslog transport.
@Suite struct SyslogFormats {
    func sink(_ transport: String) throws -> SyslogSink {
        // The sink needs a socket that exists to be made; nothing is sent here.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hanfs-syslog-\(getpid())-\(transport)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(transport == "journal" ? "journal/socket" : "log").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: nil)
        return try #require(SyslogSink(package: "nfspkg", facility: "local3", identity: "hanfs", socket: path))
    }

    func event(_ message: String, _ metadata: Logger.Metadata = [:]) -> LogEvent {
        LogEvent(level: .warning, message: "\(message)", metadata: metadata, source: "hanfs", file: "", function: "", line: 0)
    }

    @Test func theSyslogSocketGetsAnRFC3164Line() throws {
        let s = try sink("syslog")
        let time = Date(timeIntervalSince1970: 1_796_378_400)  // 2026-12-04 10:00 UTC: the day padded to two places
        let line = s.line(event("ran: umount /srv/a (exited with status 32)\nsecond line"), action: "stop", step: "unmount", time: time)
        #expect(line.hasPrefix("<156>Dec  4 "), "\(line)")  // local3 (19) * 8 + warning (4)
        #expect(line.hasSuffix(" hanfs[\(getpid())]: nfspkg stop [unmount]: ran: umount /srv/a (exited with status 32) | second line"))
    }

    @Test func theJournalGetsFieldsOfItsOwn() throws {
        let s = try sink("journal")
        let bytes = s.journalEntry(
            event("two\nlines", ["event": "command", "argv": .array(["umount", "/srv/a"]), "duration_ms": "12"]),
            action: "stop", step: "unmount")
        let text = String(decoding: bytes, as: UTF8.self)
        for field in ["PRIORITY=4\n", "SYSLOG_FACILITY=19\n", "SYSLOG_IDENTIFIER=hanfs\n", "HANFS_PACKAGE=nfspkg\n", "HANFS_ACTION=stop\n",
                      "HANFS_STEP=unmount\n", "HANFS_EVENT=command\n", "HANFS_ARGV=umount /srv/a\n", "HANFS_DURATION_MS=12\n"] {
            #expect(text.contains(field), "\(field) in \(text)")
        }
        // A value with a newline: the name, a newline, its length in 8 bytes (little endian), the bytes, a newline.
        let message = Array("MESSAGE\n".utf8) + [9, 0, 0, 0, 0, 0, 0, 0] + Array("two\nlines\n".utf8)
        #expect(bytes.starts(with: message))
    }
}
