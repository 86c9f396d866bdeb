import Glibc

/// Why a file could not be read, in words an operator can act on.
public struct FileProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { problem }
}

/// Reading a file hanfs is given by name (a package file, a script): it
/// must be a regular file of reasonable size. A directory, a FIFO (which
/// would block the read for ever), a device such as /dev/null or a socket
/// is refused by what it is, before anything is read.
public enum RegularFile {
    /// Larger than any package file or script a person writes.
    public static let defaultLimit = 16 << 20

    public static func read(_ path: String, limit: Int = defaultLimit) throws(FileProblem) -> [UInt8] {
        guard !path.utf8.contains(0) else { throw FileProblem("the name contains a NUL byte") }
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw FileProblem(errnoText(errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileProblem(errnoText(errno)) }
        if let kind = kind(st.st_mode) { throw FileProblem("is \(kind), not a regular file") }
        guard Int(st.st_size) <= limit else {
            throw FileProblem("is \(st.st_size) bytes, more than the \(limit >> 20) MiB a file here may have")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(st.st_size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n >= 0 else { throw FileProblem(errnoText(errno)) }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
            guard bytes.count <= limit else { throw FileProblem("grew past \(limit >> 20) MiB while being read") }
        }
    }

    /// What a file that is not a regular file is, for messages; nil for a regular file.
    public static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// strerror's text, lower-cased as a message continues it.
    public static func errnoText(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case ELOOP: return "a symbolic link where none may be"
        default:
            let text = String(cString: strerror(code))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
    }
}
