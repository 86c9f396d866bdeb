import Foundation
import LinuxCalls
import SafeFiles

/// Keeps the holding directory (on the package's storage) a copy of the SM
/// directory, as the toolkit's nfs.flm does, but driven by events: an entry
/// rpc.statd writes is copied within milliseconds, an entry it removes is
/// removed, and a full comparison every `interval` seconds is the safety net.
///
/// Both directories are opened once (never through a link) and worked in
/// through their descriptors; the watch is on the opened SM directory
/// itself. On every pass the paths must still name the directories that
/// were opened: if either was replaced (the SM directory swapped for a link
/// to /etc by whoever can write its parent, the holding directory by an NFS
/// client), the sync stops with an error instead of copying from or into
/// the wrong place. Only files with the shape of an SM entry are copied.
public final class HoldingSync {
    public let sm: String
    public let holding: String
    public let interval: Double
    let log: (String) -> Void

    public init(sm: String, holding: String, interval: Double, log: @escaping (String) -> Void) {
        self.sm = sm
        self.holding = holding
        self.interval = interval
        self.log = log
    }

    static let created = lc_in_created
    static let removed = lc_in_removed
    static let gone = lc_in_gone
    static let overflow = lc_in_overflow

    /// The two directories, opened.
    struct Opened {
        let sm: Directory
        let holding: Directory

        /// Throws when a path no longer names what was opened.
        func verify() throws {
            for d in [sm, holding] where !d.isStillAtPath {
                throw PrimitiveError("\(d.path) was replaced (moved, removed or swapped for a link) while the sync ran: stopped")
            }
        }
    }

    func open() throws -> Opened {
        Opened(sm: try StatusMonitor.open(sm, "the SM directory"), holding: try StatusMonitor.open(holding, "the holding directory"))
    }

    /// Copies what is new or changed, removes what is gone. Returns how many of each.
    @discardableResult
    public func fullSync() throws -> (copied: Int, removed: Int) {
        try fullSync(try open())
    }

    @discardableResult
    func fullSync(_ d: Opened) throws -> (copied: Int, removed: Int) {
        try d.verify()
        let source = try StatusMonitor.entries(in: d.sm)
        let target = try StatusMonitor.entries(in: d.holding)
        var copied = 0
        for name in source.files where !sameFile(name, d) {
            if copy(name, d) { copied += 1 }
        }
        let present = Set(source.files)
        var removedCount = 0
        for name in target.files where !present.contains(name) {
            if (try? d.holding.remove(name)) == true { removedCount += 1 }
        }
        return (copied, removedCount)
    }

    /// How far the holding directory is behind, read and changing nothing:
    /// the SM entries not (or not yet the same) in it, the entries in it
    /// that are gone from the SM directory, and the seconds since the
    /// oldest unsynced entry was written (0: in step).
    public func lag(now: Double = Date().timeIntervalSince1970) throws -> (unsynced: Int, stale: Int, seconds: Double) {
        let d = try open()
        let source = try StatusMonitor.entries(in: d.sm)
        let target = try StatusMonitor.entries(in: d.holding)
        let unsynced = source.files.filter { !sameFile($0, d) }
        let oldest = unsynced.compactMap { d.sm.status($0) }.map { Double($0.st_mtim.tv_sec) + Double($0.st_mtim.tv_nsec) / 1e9 }.min()
        let present = Set(source.files)
        let stale = target.files.filter { !present.contains($0) }.count
        return (unsynced.count, stale, oldest.map { max(0, now - $0) } ?? 0)
    }

    /// Same size and modification time on both sides.
    func sameFile(_ name: String, _ d: Opened) -> Bool {
        guard let a = d.sm.status(name), let b = d.holding.status(name) else { return false }
        return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
    }

    func copy(_ name: String, _ d: Opened) -> Bool {
        do {
            try StatusMonitor.copy(name, from: d.sm, to: d.holding)
            return true
        } catch {
            log("\(error)")
            return false
        }
    }

    /// Runs until `shouldStop`: a full sync first, then events as they
    /// come, and a full sync every `interval` seconds. Throws when a
    /// directory was replaced.
    public func run(shouldStop: () -> Bool) throws {
        let d = try open()
        let fd = lc_inotify_init1(Int32(O_CLOEXEC) | Int32(O_NONBLOCK))
        guard fd >= 0 else { throw PrimitiveError("inotify: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // The opened directory itself, not whatever its path names by now.
        guard lc_inotify_add_watch(fd, "/proc/self/fd/\(d.sm.fd)", Self.created | Self.removed | Self.gone) >= 0 else {
            throw PrimitiveError("cannot watch \(sm): \(String(cString: strerror(errno)))")
        }
        try fullSync(d)
        var nextFull = Monotonic.now() + interval
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !shouldStop() {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = max(0, min(nextFull - Monotonic.now(), 0.2))
            if poll(&p, 1, Int32(wait * 1000)) > 0 {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 { try handle(buffer[0..<n], d) }
            }
            if Monotonic.now() >= nextFull {
                try fullSync(d)
                nextFull = Monotonic.now() + interval
            }
        }
    }

    /// struct inotify_event: wd (4), mask (4), cookie (4), len (4), name[len].
    func handle(_ events: ArraySlice<UInt8>, _ d: Opened) throws {
        try d.verify()
        var i = events.startIndex
        while i + 16 <= events.endIndex {
            let mask = events[i + 4..<i + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let length = Int(events[i + 12..<i + 16].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            let nameBytes = events[i + 16..<min(i + 16 + length, events.endIndex)].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            i += 16 + length
            if mask & Self.gone != 0 {
                throw PrimitiveError("\(sm) was moved or removed while the sync ran: stopped")
            }
            if mask & Self.overflow != 0 {
                try fullSync(d)
                continue
            }
            guard Directory.isEntryName(name) else { continue }
            if mask & Self.created != 0 {
                _ = copy(name, d)
            } else if mask & Self.removed != 0 {
                _ = try? d.holding.remove(name)
            }
        }
    }
}
