import Foundation

/// inotify(7), which Swift's Glibc module does not show.
@_silgen_name("inotify_init1") private func inotify_init1(_ flags: Int32) -> Int32
@_silgen_name("inotify_add_watch") private func inotify_add_watch(_ fd: Int32, _ path: UnsafePointer<CChar>, _ mask: UInt32) -> Int32

/// Keeps the holding directory (on the package's storage) a copy of the SM
/// directory, as the toolkit's nfs.flm does, but driven by events: an entry
/// rpc.statd writes is copied within milliseconds, an entry it removes is
/// removed, and a full comparison every `interval` seconds is the safety net.
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

    static let created: UInt32 = 0x0000_0008 | 0x0000_0080  // IN_CLOSE_WRITE | IN_MOVED_TO
    static let removed: UInt32 = 0x0000_0200 | 0x0000_0040  // IN_DELETE | IN_MOVED_FROM
    static let overflow: UInt32 = 0x0000_4000  // IN_Q_OVERFLOW

    /// Copies what is new or changed, removes what is gone. Returns how many of each.
    @discardableResult
    public func fullSync() -> (copied: Int, removed: Int) {
        guard let source = try? StatusMonitor.entries(in: sm), let target = try? StatusMonitor.entries(in: holding) else {
            log("cannot read \(sm) or \(holding)")
            return (0, 0)
        }
        var copied = 0
        for name in source.files where !sameFile(name) {
            if copy(name) { copied += 1 }
        }
        let present = Set(source.files)
        var removedCount = 0
        for name in target.files where !present.contains(name) {
            if unlink("\(holding)/\(name)") == 0 { removedCount += 1 }
        }
        return (copied, removedCount)
    }

    /// Same size and modification time on both sides.
    func sameFile(_ name: String) -> Bool {
        var a = stat()
        var b = stat()
        guard lstat("\(sm)/\(name)", &a) == 0, lstat("\(holding)/\(name)", &b) == 0 else { return false }
        return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
    }

    func copy(_ name: String) -> Bool {
        var st = stat()
        guard lstat("\(sm)/\(name)", &st) == 0 else { return false }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            log("\(sm)/\(name) is not a regular file: not copied")
            return false
        }
        do {
            try StatusMonitor.copy(name, from: sm, to: holding)
            return true
        } catch {
            log("\(error)")
            return false
        }
    }

    /// Runs until `shouldStop`: a full sync first, then events as they
    /// come, and a full sync every `interval` seconds.
    public func run(shouldStop: () -> Bool) throws {
        let fd = inotify_init1(Int32(O_CLOEXEC) | Int32(O_NONBLOCK))
        guard fd >= 0 else { throw PrimitiveError("inotify: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard inotify_add_watch(fd, sm, Self.created | Self.removed) >= 0 else {
            throw PrimitiveError("cannot watch \(sm): \(String(cString: strerror(errno)))")
        }
        fullSync()
        var nextFull = Monotonic.now() + interval
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !shouldStop() {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = max(0, min(nextFull - Monotonic.now(), 0.2))
            if poll(&p, 1, Int32(wait * 1000)) > 0 {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 { handle(buffer[0..<n]) }
            }
            if Monotonic.now() >= nextFull {
                fullSync()
                nextFull = Monotonic.now() + interval
            }
        }
    }

    /// struct inotify_event: wd (4), mask (4), cookie (4), len (4), name[len].
    func handle(_ events: ArraySlice<UInt8>) {
        var i = events.startIndex
        while i + 16 <= events.endIndex {
            let mask = events[i + 4..<i + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let length = Int(events[i + 12..<i + 16].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            let nameBytes = events[i + 16..<min(i + 16 + length, events.endIndex)].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            i += 16 + length
            if mask & Self.overflow != 0 {
                fullSync()
                continue
            }
            guard !name.isEmpty, !name.hasPrefix(".") else { continue }
            if mask & Self.created != 0 {
                _ = copy(name)
            } else if mask & Self.removed != 0 {
                var st = stat()
                if lstat("\(holding)/\(name)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { unlink("\(holding)/\(name)") }
            }
        }
    }
}
