import Foundation

/// The log files hanfs appends to (the package log, the sync's log, NFS-
/// Ganesha's log beside them). A path comes from a package file, and a
/// mistake there (`log_file = "/etc/passwd"`) must not make hanfs append
/// to a file it did not create. So outside hanfs's own log directory hanfs
/// writes only to a file that it created: new, or empty (logrotate's
/// `create`), or beginning with the header line hanfs writes first. In its
/// own directory (root's, and where logs from before the header was written
/// stay) any file passes. Everywhere: never through a symbolic link, never
/// to a file with a second hard link, a device or a FIFO, never to a file
/// another user owns.
public enum LogFile {
    /// The first line of every log file hanfs creates.
    public static let header = "# hanfs log"

    /// A log of lines of text, or of JSON records, one per line (whose
    /// first record says it is hanfs's, so that every line is JSON).
    public enum Format: Sendable {
        case text, jsonLines

        var header: String { self == .text ? LogFile.header : "{\"hanfs_log\"" }

        func firstLine(_ what: String) -> String {
            switch self {
            case .text: "\(LogFile.header) (\(what)); hanfs appends here\n"
            case .jsonLines: "{\"hanfs_log\": \"\(what.filter { $0 != "\"" && $0 != "\\" })\"}\n"
            }
        }
    }

    /// Opens `path` for appending (its directory made if needed); returns
    /// the descriptor. `ownDirectory`: hanfs's log directory.
    public static func openForAppend(
        _ path: String, for what: String, ownDirectory: String, format: Format = .text
    ) throws(FileProblem) -> Int32 {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { throw FileProblem("\(path): not an absolute path") }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileProblem("\(path): cannot make its directory: \(error.localizedDescription)")
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            let code = errno
            throw FileProblem("\(path): \(code == ELOOP ? "a symbolic link, which is not followed" : RegularFile.errnoText(code))")
        }
        do throws(FileProblem) {
            try check(fd, path, for: what, headerRequired: directory != ownDirectory, format: format)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Checks that an existing log file is one hanfs made, then closes it:
    /// for a log another program (NFS-Ganesha) writes to by name.
    public static func prepare(_ path: String, for what: String, ownDirectory: String) throws(FileProblem) {
        close(try openForAppend(path, for: what, ownDirectory: ownDirectory))
    }

    private static func check(_ fd: Int32, _ path: String, for what: String, headerRequired: Bool, format: Format)
        throws(FileProblem)
    {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileProblem("\(path): \(RegularFile.errnoText(errno))") }
        if let kind = RegularFile.kind(st.st_mode) {
            throw FileProblem("\(path) is \(kind): hanfs writes its logs to regular files only")
        }
        guard st.st_nlink == 1 else {
            throw FileProblem("\(path) has \(st.st_nlink) hard links: hanfs does not write to a file known by another name")
        }
        guard st.st_uid == geteuid() else {
            throw FileProblem("\(path) belongs to uid \(st.st_uid), not to hanfs's user: it was not made by hanfs")
        }
        if st.st_size == 0 {
            let line = Array(format.firstLine(what).utf8)
            guard write(fd, line, line.count) == line.count else {
                throw FileProblem("\(path): \(RegularFile.errnoText(errno))")
            }
            return
        }
        guard headerRequired else { return }
        var first = [UInt8](repeating: 0, count: format.header.utf8.count)
        guard pread(fd, &first, first.count, 0) == first.count, first == Array(format.header.utf8) else {
            throw FileProblem(
                "\(path) exists and was not made by hanfs (it does not begin with \"\(format.header)\"): "
                    + "hanfs will not append to it; name another file, or remove this one if it is an old hanfs log")
        }
    }
}
