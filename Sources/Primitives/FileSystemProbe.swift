import Foundation
import LinuxCalls
import Synchronization

/// Whether a mounted file system still answers: a small direct read of its
/// device (O_DIRECT, past the page cache, so a dead disk shows) and a
/// write of a status file on it, synced. A mount that is there while its
/// storage is gone passes every other check; this one does not.
///
/// I/O to dead storage can block in the kernel for good, and no thread
/// blocked so can be interrupted: the probe runs on a thread of its own and
/// the caller waits at most `timeout`. A probe still blocked is not started
/// again; the next call reports it still hanging.
public final class FileSystemProbe: Sendable {
    /// The status file written at the top of each file system.
    public static let statusFile = ".hanfs-monitor"
    private let hanging = Mutex<[String: Double]>([:])

    public init() {}

    /// Reads 4 KiB of `device` directly and writes `directory`/.hanfs-monitor;
    /// throws why not, within `timeout` seconds.
    public func probe(device: String, directory: String, timeout: Double) throws {
        if let since = hanging.withLock({ $0[directory] }) {
            throw PrimitiveError("I/O to \(directory) has not returned for \(CommandResult.seconds(Monotonic.now() - since))")
        }
        let started = Monotonic.now()
        hanging.withLock { $0[directory] = started }
        final class Answer: Sendable { let value = Mutex<Result<Void, PrimitiveError>?>(nil) }
        let result = Answer()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let r: Result<Void, PrimitiveError>
            do throws(PrimitiveError) {
                try Self.readDirect(device)
                try Self.writeStatus(directory)
                r = .success(())
            } catch { r = .failure(error) }
            result.value.withLock { $0 = r }
            hanging.withLock { $0[directory] = nil }
            done.signal()
        }
        thread.start()
        guard done.wait(timeout: .now() + timeout) == .success else {
            throw PrimitiveError("I/O to \(directory) did not return within \(CommandResult.seconds(timeout))")
        }
        try result.value.withLock { $0! }.get()
    }

    /// Glibc's O_DIRECT (LinuxCalls: Swift's Glibc does not show it).
    public static let directIO = lc_o_direct

    static func readDirect(_ device: String) throws(PrimitiveError) {
        var fd = open(device, O_RDONLY | directIO | O_CLOEXEC)
        // What cannot do direct I/O (some file-backed devices) is read through the cache.
        if fd < 0 && errno == EINVAL { fd = open(device, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw PrimitiveError("cannot open \(device): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer: UnsafeMutableRawPointer?
        guard posix_memalign(&buffer, 4096, 4096) == 0, let buffer else { throw PrimitiveError("out of memory") }
        defer { free(buffer) }
        guard pread(fd, buffer, 4096, 0) == 4096 else {
            throw PrimitiveError("reading \(device): \(String(cString: strerror(errno)))")
        }
    }

    static func writeStatus(_ directory: String) throws(PrimitiveError) {
        // On an exported file system, where a client may have made the
        // status file a link (hard or symbolic) to another file: a new file
        // is written and renamed over it, never opened and truncated.
        let path = "\(directory)/\(statusFile)"
        let temporary = "\(directory)/\(statusFile).\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw PrimitiveError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let text = Array("hanfs monitor, pid \(getpid()), \(Timestamp.now(utc: true).iso)\n".utf8)
        let ok = write(fd, text, text.count) == text.count && fsync(fd) == 0
        let code = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let why = String(cString: strerror(ok ? errno : code))
            unlink(temporary)
            throw PrimitiveError("writing \(path): \(why)")
        }
    }
}
