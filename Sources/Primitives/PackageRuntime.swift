import Foundation

/// A package's runtime state on this node, under /run (a tmpfs, empty after
/// a reboot): a lock that keeps two start/stop runs of the package apart,
/// and a marker saying the package is started here. Exports in etab or a
/// tagged VG survive a reboot; the marker does not, so stale state cannot
/// pass for a running package.
public struct PackageRuntime: Sendable {
    public let directory: String
    public let package: String

    /// $HANFS_RUN_DIR, else /run/hanfs.
    public static var defaultDirectory: String {
        ProcessInfo.processInfo.environment["HANFS_RUN_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/run/hanfs"
    }

    public init(package: String, directory: String = PackageRuntime.defaultDirectory) {
        self.package = package
        self.directory = directory
    }

    public var lockPath: String { "\(directory)/\(package).lock" }
    public var markerPath: String { path("started") }

    /// A held lock: released when closed (or when the process ends, whatever way).
    public final class Lock: @unchecked Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        public func release() { close(fd) }
        deinit { close(fd) }
    }

    /// Takes the package's lock, or says who holds it.
    public func lock(action: String) throws -> Lock {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PrimitiveError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "another process"
            throw PrimitiveError("package \(package) is busy: \(holder) holds \(lockPath)")
        }
        let text = Array("\(action) by pid \(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        return Lock(fd: fd)
    }

    /// Whether the package is marked started on this node, and by what.
    public var marker: String? { read("started") }

    /// Writes the marker.
    public func markStarted(node: String) throws {
        try write("started", "started on \(node) at \(Timestamp.now(utc: true).iso) by pid \(getpid())")
    }

    /// A note the package keeps on this node (`notified`: the rpc.statd that
    /// sent the crash notification; `monitor-failed`: why the monitor
    /// ended): `<directory>/<package>.<key>`, gone after a reboot.
    public func path(_ key: String) -> String { "\(directory)/\(package).\(key)" }

    public func read(_ key: String) -> String? {
        (try? String(contentsOfFile: path(key), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a note (a new file renamed into place: never half there); nil removes it.
    public func write(_ key: String, _ value: String?) throws {
        let target = path(key)
        guard let value else {
            guard unlink(target) == 0 || errno == ENOENT else {
                throw PrimitiveError("cannot remove \(target): \(String(cString: strerror(errno)))")
            }
            return
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = Array((value + "\n").utf8)
        let temporary = target + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PrimitiveError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = Foundation.write(fd, text, text.count)
        close(fd)
        guard written == text.count, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw PrimitiveError("cannot write \(target): \(String(cString: strerror(errno)))")
        }
    }

    public func clearStarted() throws { try write("started", nil) }
}
