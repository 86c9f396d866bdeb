import Foundation
import Primitives

/// The client's kernel NFS mounts of the package's export, in the VM lab:
/// NFSv3 on /mnt/v3 and NFSv4.2 on /mnt/v4, hard mounts as sites use.
extension TwoNodeLab {
    /// Each version the client mounts, and where.
    static let kernelMounts: [(version: String, directory: String)] = [("3", "/mnt/v3"), ("4.2", "/mnt/v4")]

    /// Mounts the export in the client, once the package serves it (NFSv4 after the grace period).
    func mountClient(log: (String) -> Void) throws {
        for (version, directory) in Self.kernelMounts {
            try on("client", ["mkdir", "-p", directory])
            let argv = ["mount", "-t", "nfs", "-o", "vers=\(version),hard,timeo=10,retrans=2", "\(Self.address):/srv/nfs/share", directory]
            try retry("mount NFSv\(version)", within: Double(grace) + 30, until: { _ in true }) {
                let r = try self.on("client", argv, timeout: 30, check: false)
                guard r.succeeded else { throw LabError(r.stderrTail()) }
                return ""
            }
        }
        log("client: the kernel's NFS client mounts \(Self.address):/srv/nfs/share over NFSv3 on /mnt/v3 and NFSv4.2 on /mnt/v4 (hard)")
    }

    /// A second client that mounts over NFSv4.2, reads, and loses its power:
    /// on the server's record (nfsdcld), it never reclaims, so the grace
    /// period after the next start runs its whole length.
    func strandClient(log: (String) -> Void) throws {
        let host = Self.secondClient
        try site.powerOn(layout(host))
        try on(host, ["mkdir", "-p", "/mnt/v4"])
        try on(host, ["mount", "-t", "nfs", "-o", "vers=4.2,hard,timeo=10", "\(Self.address):/srv/nfs/share", "/mnt/v4"], timeout: 60)
        try on(host, ["cat", "/mnt/v4/hello.txt"], timeout: 60)
        try site.powerOff(host)
        log("client2 mounted the export over NFSv4.2, read, and lost its power: the server has it on record")
    }
}

extension TwoNodeLab {
    /// Seconds since the VM booted: the kernel log's clock.
    static func uptime() -> Double {
        (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8)).flatMap { Double($0.split(separator: " ").first ?? "") } ?? 0
    }

    /// What the kernel says of the NFSv4 grace period of the nfsd started
    /// on `node` since `since` (uptime): skipped (no client on record),
    /// ended early (every client on record reclaimed), run out (the kernel
    /// logs nothing then, but the node's v4_end_grace says it has ended), or
    /// still running.
    func kernelGrace(on node: String, since: Double) -> (text: String, nfsdStarted: Double?) {
        let log = (try? sh(["dmesg"], check: false))?.stdoutText ?? ""
        var started: (at: Double, net: String, text: String)?
        let ended = (try? on(node, ["cat", "/proc/fs/nfsd/v4_end_grace"], check: false))?.stdoutText.hasPrefix("Y") ?? false
        var outcome = ended ? "ran out: a client on record did not reclaim" : "still running"
        for line in log.split(separator: "\n") {
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
                let at = Double(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)), at >= since,
                line.contains("NFSD: "), let net = line.split(separator: "(net ").last.map({ String($0.dropLast()) })
            else { continue }
            if line.contains("grace period (net") && (line.contains("starting") || line.contains("skipping")) {
                started = (at, net, line.contains("skipping") ? "no client on record: no NFSv4 grace period" : "")
                if !started!.text.isEmpty { outcome = started!.text }
            } else if let s = started, net == s.net, line.contains("all clients done reclaiming") {
                outcome = String(format: "ended early by the kernel %.1f s after nfsd started: every NFSv4 client on record reclaimed", at - s.at)
            } else if let s = started, net == s.net, line.contains("ending") {
                outcome = String(format: "ended %.1f s after nfsd started", at - s.at)
            }
        }
        return (outcome, started?.at)
    }
}

/// What the client's applications do across a failover, on the kernel's
/// mounts: on each, a reader that opens and reads a file every 20 ms
/// (`hanfs lab-client read`), a writer that writes and fsyncs a record
/// every 20 ms (`hanfs lab-client append`) and a process holding a lock
/// (`hanfs lab-client hold`: an NLM lock over NFSv3, a POSIX lock over
/// NFSv4). Afterwards no read or write may have failed (no ESTALE), every
/// acknowledged record must be on the disk, and the server must hold each
/// lock again (reclaimed). The outages are the client's own: the longest
/// wait between two good reads, and for an acknowledged write. Once the
/// package runs again, a new lock is asked for on each mount: it waits
/// for every grace period of the server (lockd's, and NFSv4's), whichever
/// ends last.
struct KernelClientLoad {
    let lab: TwoNodeLab
    /// Files of their own for each failover.
    let stamp = Int(Date().timeIntervalSince1970 * 1000)

    struct Mount {
        let version: String
        let directory: String
        let acks: String
        let log: String
        /// The reader's good reads, and what it printed.
        let reads: String
        let readLog: String
        let records: String
        let lock: String
        /// A file locked anew once the package runs again.
        let newLock: String
    }
    let mounts: [Mount]

    init(_ lab: TwoNodeLab) throws {
        self.lab = lab
        let stamp = stamp
        mounts = TwoNodeLab.kernelMounts.map { m in
            let tag = "v" + m.version.replacingOccurrences(of: ".", with: "")
            return Mount(
                version: m.version, directory: m.directory, acks: "\(lab.dir)/acks-\(tag)-\(stamp)",
                log: "\(lab.dir)/writer-\(tag).log", reads: "\(lab.dir)/reads-\(tag)-\(stamp)", readLog: "\(lab.dir)/reader-\(tag).log",
                records: "\(m.directory)/records-\(stamp).\(tag)", lock: "\(m.directory)/lock-\(stamp).\(tag)",
                newLock: "\(m.directory)/newlock-\(stamp).\(tag)")
        }
        for m in mounts {
            for f in [m.acks, m.log, m.reads, m.readLog, "\(m.log).newlock"] { try? FileManager.default.removeItem(atPath: f) }
            try lab.site.spawn(
                "client", [lab.hanfs, "lab-client", "read", "--file", "\(m.directory)/hello.txt", "--acks", m.reads],
                log: m.readLog)
            try lab.site.spawn("client", [lab.hanfs, "lab-client", "append", "--file", m.records, "--acks", m.acks], log: m.log)
            try lab.site.spawn("client", [lab.hanfs, "lab-client", "hold", "--file", m.lock], log: "\(m.log).lock")
        }
        for m in mounts {
            try waitFor(m, "the reader's first reads", within: 30, file: m.reads) { $0.count >= 5 }
            try waitFor(m, "the writer's first records", within: 30) { $0.count >= 5 }
            try waitFor(m, "the lock", within: Double(lab.grace) + 30) { _ in
                ((try? String(contentsOfFile: "\(m.log).lock", encoding: .utf8)) ?? "").contains("held")
            }
        }
    }

    /// When a new lock, asked for as the package ran again, was granted on each mount (uptime, as its holder said).
    var newLocks: [String: Double] = [:]

    /// Every acknowledged record of a mount (or good read, from `file`): its number and when (monotonic seconds).
    func acknowledged(_ m: Mount, file: String? = nil) -> [(n: Int, at: Double)] {
        ((try? String(contentsOfFile: file ?? m.acks, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let n = Int(f[0]), let at = Double(f[1]) else { return nil }
            return (n, at)
        }
    }

    func waitFor(_ m: Mount, _ what: String, within: Double, file: String? = nil, _ done: ([(n: Int, at: Double)]) -> Bool) throws {
        let until = Monotonic.now() + within
        while !done(acknowledged(m, file: file)) {
            guard Monotonic.now() < until else { throw LabError("NFSv\(m.version): \(what): not within \(Int(within)) s") }
            usleep(20_000)
        }
    }

    /// The locks the kernel server holds on a file (from /proc/locks: the
    /// VM's one kernel serves both nodes, and only the node that has the
    /// file system mounted can hold locks on it).
    func serverLocks(_ m: Mount) throws -> Int {
        let ino = try lab.on("client", ["stat", "-c", "%i", m.lock]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let table = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").filter { line in
            let f = line.split(separator: " ")
            return f.contains("POSIX") && f.contains("WRITE") && f.contains { $0.hasSuffix(":\(ino)") }
        }.count
    }

    /// The longest time between two successive times that ends after `t0`.
    static func longestWait(_ times: [Double], since t0: Double) -> Double {
        zip(times, times.dropFirst()).filter { $0.1 >= t0 }.map { $1 - $0 }.max() ?? 0
    }

    /// Ends its processes (in the client's network namespace, not this one's), and waits until they are gone.
    func stop() {
        func mine() -> [Int32] {
            ProcessTable.matching({
                $0.count > 2 && $0[1] == "lab-client" && ["append", "hold", "read"].contains($0[2]) && $0.contains { $0.contains("-\(stamp)") }
            }, everyNetwork: true)
        }
        for pid in mine() { kill(pid, SIGKILL) }
        let until = Monotonic.now() + 10
        while !mine().isEmpty && Monotonic.now() < until { usleep(50_000) }
    }

    /// After the failover: writes acknowledged again, then each mount's
    /// records read back, its longest wait for an acknowledgement, the
    /// errors its writer met, and the server's hold of its lock.
    /// `t0`: when the failover began; `serving`: when the package ran again.
    /// As the package runs again: a new lock asked for on each mount.
    func askForNewLocks() throws {
        for m in mounts {
            try lab.site.spawn("client", [lab.hanfs, "lab-client", "hold", "--file", m.newLock], log: "\(m.log).newlock")
        }
    }

    mutating func verify(since t0: Double, serving: Double) throws -> [FailoverReport.MountResult] {
        var results: [FailoverReport.MountResult] = []
        for m in mounts {
            try waitFor(m, "writes acknowledged again", within: Double(lab.grace) + 60) { $0.filter { $0.at > serving }.count >= 10 }
            try waitFor(m, "good reads again", within: Double(lab.grace) + 60, file: m.reads) { $0.filter { $0.at > serving }.count >= 10 }
        }
        // The client reclaims its locks once it hears from the server (SM_NOTIFY for NLM, the
        // server's restart for NFSv4), within the grace period: until then the server holds none.
        let until = Monotonic.now() + Double(lab.grace) + 30
        var locks = try mounts.map { try serverLocks($0) }
        while locks.contains(0) && Monotonic.now() < until {
            usleep(200_000)
            locks = try mounts.map { try serverLocks($0) }
        }
        // New locks: granted once every grace period of the server has ended.
        let newLocksBy = Monotonic.now() + Double(lab.grace) + 60
        while newLocks.count < mounts.count && Monotonic.now() < newLocksBy {
            for m in mounts where newLocks[m.version] == nil {
                let said = (try? String(contentsOfFile: "\(m.log).newlock", encoding: .utf8)) ?? ""
                if let at = said.components(separatedBy: "held at ").dropFirst().first.flatMap({ Double($0.prefix { !$0.isWhitespace }) }) {
                    newLocks[m.version] = at
                }
            }
            usleep(100_000)
        }
        stop()
        for (m, held) in zip(mounts, locks) {
            let acks = acknowledged(m)
            let data = Array(try lab.on("client", ["cat", m.records], timeout: 60).stdout)
            let missing = NFSClient.missingRecords(acks.map(\.n), in: data)
            guard missing.isEmpty else {
                throw LabError("NFSv\(m.version): \(missing.count) acknowledged record(s) lost, the first \(missing[0])")
            }
            let errors = [m.log, m.readLog].flatMap {
                ((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("error") }
            }
            let gap = Self.longestWait(acks.map(\.at), since: t0)
            let readGap = Self.longestWait(acknowledged(m, file: m.reads).map(\.at), since: t0)
            guard held > 0 else { throw LabError("NFSv\(m.version): the lock held across the failover is not held by the server after it (not reclaimed)") }
            guard newLocks[m.version] != nil else { throw LabError("NFSv\(m.version): a new lock was not granted within the grace period and a minute") }
            if let first = errors.first { throw LabError("NFSv\(m.version): a read or write failed across the failover: \(first)") }
            results.append(.init(
                version: m.version, outage: readGap, writeOutage: gap,
                text: "outage \(Int((readGap * 1000).rounded())) ms between two good reads, "
                    + "\(Int((gap * 1000).rounded())) ms for a write's acknowledgement; no read or write failed; "
                    + "\(acks.count) records written and fsynced, every one on the disk; its lock reclaimed (held by the server)"))
        }
        return results
    }
}
