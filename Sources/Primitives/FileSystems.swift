import Foundation
import SafeFiles
import PackageConfig

/// fsck, mount and umount of package file systems: each idempotent, each
/// within a time budget, several at once up to a limit.
public struct FileSystems: Sendable {
    public let node: NodeContext
    /// How long to wait between a signal and the next unmount attempt.
    public var signalDelay = 0.5

    public init(_ node: NodeContext) { self.node = node }

    // MARK: fsck

    /// Checks a file system before it is mounted, as `policy` says. Exit
    /// status 1 to 3 means errors were corrected (logged); 4 or more is
    /// fatal. A mounted file system is not checked.
    public func fsck(_ fs: FileSystem, policy: FsckPolicy = .force, timeout: Double) throws -> Outcome {
        guard policy.checks(fs) else {
            node.logger.info("fsck of \(fs.device) not needed: \(policy == .no ? "run_fsck is no" : "\(fs.type) keeps a journal (run_fsck auto)")")
            return .skipped
        }
        let table = try MountTable.read()
        if let m = table.mount(at: fs.directory), sameDevice(m, fs) { return .already }
        // fsck.<type> itself when there is one: the fsck wrapper costs as
        // much again (it is a process of its own), and means the same.
        var argv = ["fsck"]
        if !fs.type.isEmpty {
            argv = ProcessRunner.resolve("fsck.\(fs.type)") != nil ? ["fsck.\(fs.type)"] : ["fsck", "-t", fs.type]
        }
        argv += fs.fsckOptions.isEmpty ? ["-p"] : fs.fsckOptions
        argv.append(fs.device)
        let r = try node.run(argv, timeout: timeout, check: false)
        guard let status = r.exitCode, !r.timedOut else { throw PrimitiveError.failed(argv, r) }
        if status >= 4 {
            throw PrimitiveError("fsck of \(fs.device) failed (status \(status)\(Self.fsckMeaning(status))): \(r.stderrTail())")
        }
        if status != 0 {
            node.logger.warning("fsck corrected errors on \(fs.device) (status \(status)\(Self.fsckMeaning(status)))")
        }
        return .done
    }

    static func fsckMeaning(_ status: Int32) -> String {
        var words: [String] = []
        if status & 1 != 0 { words.append("errors corrected") }
        if status & 2 != 0 { words.append("reboot needed") }
        if status & 4 != 0 { words.append("errors left uncorrected") }
        if status & 8 != 0 { words.append("operational error") }
        if status & 16 != 0 { words.append("usage error") }
        if status & 32 != 0 { words.append("cancelled") }
        return words.isEmpty ? "" : ": " + words.joined(separator: ", ")
    }

    // MARK: mount

    /// Mounts a file system. Already mounted from the same device is
    /// success; mounted from another device is an error. The mount point is
    /// created if missing. If the mount fails and `retries` remain, the
    /// processes using the mount point are killed and it is tried again.
    public func mount(_ fs: FileSystem, timeout: Double, retries: Int = 0) throws -> Outcome {
        let table = try MountTable.read()
        if let m = table.mount(at: fs.directory) {
            if sameDevice(m, fs) { return .already }
            throw PrimitiveError("\(fs.directory) already has \(m.source) (\(m.type)) mounted on it, not \(fs.device)")
        }
        if let under = table.mounts(below: fs.directory).last {
            throw PrimitiveError("\(under.mountPoint) is mounted under \(fs.directory): unmount it first")
        }
        do { try LinkFreePath.check(fs.directory, "mount point") } catch { throw PrimitiveError(error.problem) }
        if !FileManager.default.fileExists(atPath: fs.directory) {
            try node.effects.change("create mount point \(fs.directory)") {
                do {
                    try FileManager.default.createDirectory(atPath: fs.directory, withIntermediateDirectories: true)
                } catch {
                    throw PrimitiveError("cannot create mount point \(fs.directory): \(error.localizedDescription)")
                }
                node.logger.info("created mount point \(fs.directory)")
            }
        }
        var argv = ["mount"]
        if !fs.type.isEmpty { argv += ["-t", fs.type] }
        argv += fs.mountOptions + [fs.device, fs.directory]
        var attempt = 0
        while true {
            let r = try node.run(argv, timeout: timeout, check: false)
            if r.succeeded { break }
            guard attempt < retries, !r.timedOut else { throw PrimitiveError.failed(argv, r) }
            attempt += 1
            let users = ProcessUsers.find(mountPoint: fs.directory, device: nil)
            node.logger.warning("mount of \(fs.directory) failed; attempt \(attempt + 1) of \(retries + 1) after killing its \(users.count) user(s)")
            signal(users, SIGKILL, reason: "mount point \(fs.directory) busy")
            Thread.sleep(forTimeInterval: signalDelay)
        }
        if !node.planning {
            guard let m = try MountTable.read().mount(at: fs.directory), sameDevice(m, fs) else {
                throw PrimitiveError("mount reported success but \(fs.directory) does not show \(fs.device)")
            }
        }
        return .done
    }

    public func sameDevice(_ m: MountEntry, _ fs: FileSystem) -> Bool {
        if let n = DeviceFile.number(fs.device) { return n == m.device }
        return m.source == fs.device
    }

    // MARK: umount

    /// Unmounts a file system and anything mounted below it, escalating
    /// within `timeout`: a plain umount; then TERM to the processes using it,
    /// for half of what is left; then KILL; after each signal round, another
    /// umount. With `retries`, the whole escalation is tried again. Not
    /// mounted is success; so is another device mounted there (it is not
    /// ours to take down: a warning says so).
    public func umount(_ fs: FileSystem, timeout: Double, retries: Int = 0) throws -> Outcome {
        let start = Monotonic.now()
        let deadline = start + timeout
        var table = try MountTable.read()
        let here = table.entries.filter { $0.mountPoint == fs.directory }
        guard here.contains(where: { sameDevice($0, fs) }) else {
            if let other = here.last {
                node.logger.warning("\(fs.directory) has \(other.source) (\(other.type)) mounted on it, not \(fs.device): left alone")
            }
            return .already
        }
        var attempt = 0
        while true {
            do {
                for m in table.mounts(below: fs.directory) {
                    try unmountOne(m.mountPoint, options: [], deadline: deadline)
                }
                if table.mount(at: fs.directory) != nil {
                    try unmountOne(fs.directory, options: fs.umountOptions, deadline: deadline)
                }
                break
            } catch {
                guard attempt < retries, !node.planning else { throw error }
                attempt += 1
                node.logger.warning("unmount of \(fs.directory) failed (\(error)); retry \(attempt) of \(retries)")
                table = try MountTable.read()
            }
        }
        return .done
    }

    /// Unmounts one mount point (every mount stacked on it).
    private func unmountOne(_ path: String, options: [String], deadline: Double) throws {
        let argv = ["umount"] + options + [path]
        func attempt() throws -> Bool {
            let left = max(1, deadline - Monotonic.now())
            let r = try node.run(argv, timeout: left, check: false)
            if node.planning { return true }
            return try r.succeeded && !MountTable.read().isMounted(path)
        }
        if try attempt() { return }
        let device = try MountTable.read().mount(at: path)?.device
        let budget = max(0, deadline - Monotonic.now())
        let termUntil = Monotonic.now() + budget / 2
        for (sig, until) in [(SIGTERM, termUntil), (SIGKILL, deadline)] {
            repeat {
                let users = ProcessUsers.find(mountPoint: path, device: device)
                if users.isEmpty {
                    // Nothing to signal: the cheap path, without sleeping.
                    if try attempt() { return }
                } else {
                    signal(users, sig, reason: "holding \(path)")
                    Thread.sleep(forTimeInterval: signalDelay)
                    if try attempt() { return }
                }
                if Monotonic.now() < until { Thread.sleep(forTimeInterval: 0.2) }
            } while Monotonic.now() < until
        }
        let users = ProcessUsers.find(mountPoint: path, device: device)
        throw PrimitiveError(
            "cannot unmount \(path) within its time budget"
                + (users.isEmpty ? "" : "; still used by " + users.map(\.description).joined(separator: "; ")))
    }

    /// Signals each process, logging who and why.
    func signal(_ users: [ProcessUser], _ sig: Int32, reason: String) {
        let name = sig == SIGKILL ? "KILL" : sig == SIGTERM ? "TERM" : "signal \(sig)"
        for u in users {
            node.effects.change("send \(name) to \(u) (\(reason))") {
                let ok = kill(u.pid, sig) == 0
                node.logger.warning("sent \(name) to process \(u) (\(reason))\(ok ? "" : ": \(String(cString: strerror(errno)))")")
            }
        }
    }

    // MARK: several at once

    /// The result of one file system in a group operation.
    public struct Result: Sendable {
        public var fileSystem: FileSystem
        public var outcome: Outcome?
        public var error: String?
    }

    /// Checks, then mounts, every file system: fsck up to `fsckLimit` at a
    /// time, then mounts up to `mountLimit` at a time (a parent directory
    /// first). All or nothing: if one fails, the ones this call mounted are
    /// unmounted again and the error names every failure.
    public func mountAll(
        _ list: [FileSystem], fsckPolicy: FsckPolicy, fsckLimit: Int, mountLimit: Int, fsckTimeout: Double, mountTimeout: Double,
        umountTimeout: Double, retries: Int
    ) throws -> [Result] {
        // A plan lists the commands in the package's order.
        let fsckLimit = node.planning ? 1 : fsckLimit
        let mountLimit = node.planning ? 1 : mountLimit
        let checked = Parallel.run(count: list.count, limit: fsckLimit) { i in
            Self.result(list[i]) { try self.fsck(list[i], policy: fsckPolicy, timeout: fsckTimeout) }
        }
        try Self.raiseFailures(checked, "fsck")
        let mounted = Parallel.run(count: list.count, limit: mountLimit, waitsFor: { i in Self.ancestors(of: i, in: list) }) { i in
            Self.result(list[i]) { try self.mount(list[i], timeout: mountTimeout, retries: retries) }
        }
        if mounted.contains(where: { $0.error != nil }) {
            let ours = mounted.filter { $0.outcome == .done }.map(\.fileSystem)
            if !ours.isEmpty {
                node.logger.warning("mount failed: unmounting the \(ours.count) file system(s) this step mounted")
                _ = try? umountAll(ours, limit: mountLimit, timeout: umountTimeout, retries: 0)
            }
        }
        try Self.raiseFailures(mounted, "mount")
        return mounted
    }

    /// Unmounts every file system, up to `limit` at a time, children before
    /// their parents. Every one is tried; the error names every failure.
    public func umountAll(_ list: [FileSystem], limit: Int, timeout: Double, retries: Int) throws -> [Result] {
        let limit = node.planning ? 1 : limit
        let results = Parallel.run(count: list.count, limit: limit, waitsFor: { i in Self.descendants(of: i, in: list) }) { i in
            Self.result(list[i]) { try self.umount(list[i], timeout: timeout, retries: retries) }
        }
        try Self.raiseFailures(results, "umount")
        return results
    }

    static func result(_ fs: FileSystem, _ body: () throws -> Outcome) -> Result {
        do {
            return Result(fileSystem: fs, outcome: try body())
        } catch {
            return Result(fileSystem: fs, error: "\(error)")
        }
    }

    static func raiseFailures(_ results: [Result], _ what: String) throws {
        let failed = results.filter { $0.error != nil }
        guard !failed.isEmpty else { return }
        if failed.count == 1 { throw PrimitiveError(failed[0].error!) }
        throw PrimitiveError(
            "\(what) failed for \(failed.count) file systems: " + failed.map { $0.error! }.joined(separator: "; "))
    }

    static func isBelow(_ path: String, _ parent: String) -> Bool {
        path.hasPrefix(parent == "/" ? "/" : parent + "/")
    }

    static func ancestors(of i: Int, in list: [FileSystem]) -> [Int] {
        list.indices.filter { $0 != i && isBelow(list[i].directory, list[$0].directory) }
    }

    static func descendants(of i: Int, in list: [FileSystem]) -> [Int] {
        list.indices.filter { $0 != i && isBelow(list[$0].directory, list[i].directory) }
    }
}
