import Foundation

/// A package's runtime state on this node, under /run (a tmpfs, empty after
/// a reboot): a lock that keeps two start/stop runs of the package apart,
/// and a marker saying the package is started here. Exports in etab or a
/// tagged VG survive a reboot; the marker does not, so stale state cannot
/// pass for a running package.
public struct PackageRuntime: Sendable {
    public let directory: String
    public let package: String

    /// `directory`: NodeSettings.runDirectory (see NodeSettings.runtime).
    public init(package: String, directory: String) {
        self.package = package
        self.directory = directory
    }

    public var lockPath: String { "\(directory)/\(package).lock" }
    public var markerPath: String { path("started") }

    /// A held lock: released when closed (or when the process ends, whatever way).
    /// Closed once: a second close would close whatever file another
    /// thread opened under the same number since.
    public final class Lock: @unchecked Sendable {
        private var fd: Int32
        init(fd: Int32) { self.fd = fd }
        public func release() {
            if fd >= 0 { close(fd) }
            fd = -1
        }
        deinit { release() }
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
        try writeWhole(target, value)
    }

    /// `value` and a newline into `target`: a new file renamed into place.
    private func writeWhole(_ target: String, _ value: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = Array((value + "\n").utf8)
        let temporary = target + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PrimitiveError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = Foundation.write(fd, text, text.count)
        close(fd)
        guard written == text.count, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw PrimitiveError("cannot write \(target): \(String(cString: strerror(errno)))")
        }
    }

    public func clearStarted() throws { try write("started", nil) }

    // MARK: lock migration, one package per node

    /// The node-wide note naming the package whose lock migration runs here.
    public var lockMigrationOwnerPath: String { "\(directory)/lock-migration.owner" }

    /// Whether `package` is up, or being started or stopped, on this node.
    func isLive(_ other: String) -> Bool {
        let runtime = PackageRuntime(package: other, directory: directory)
        if runtime.marker != nil { return true }
        let fd = open(runtime.lockPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }

    /// Takes this node's lock migration for the package. rpc.statd serves
    /// the whole node, and neither the kernel's lockd nor NFS-Ganesha tells
    /// it which address a client locked through (an SM entry names only the
    /// client and the node), so a second package's lock migration would
    /// restart statd from under the first and restore, sync and notify the
    /// first package's clients as its own: refused while another live
    /// package holds it.
    public func claimLockMigration() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let guardFd = open("\(directory)/lock-migration.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard guardFd >= 0 else { throw PrimitiveError("cannot open \(directory)/lock-migration.lock: \(String(cString: strerror(errno)))") }
        defer { close(guardFd) }
        flock(guardFd, LOCK_EX)
        if let owner = lockMigrationOwner, owner != package, isLive(owner) {
            throw PrimitiveError(
                "lock migration on this node belongs to package \(owner), which is up here: rpc.statd serves one "
                    + "package's clients per node (an SM entry names the client and the node, never the package "
                    + "address it locked through), so \(package)'s lock migration would take over \(owner)'s clients. "
                    + "Run \(package) on another node, or turn its lock migration off")
        }
        try writeWhole(lockMigrationOwnerPath, package)
    }

    /// Gives the node's lock migration back, if the package holds it.
    public func releaseLockMigration() {
        if lockMigrationOwner == package { unlink(lockMigrationOwnerPath) }
    }

    /// The package that holds this node's lock migration, if any.
    public var lockMigrationOwner: String? {
        (try? String(contentsOfFile: lockMigrationOwnerPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            .nilIfEmpty
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
