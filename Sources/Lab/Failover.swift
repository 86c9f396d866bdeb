import Foundation
import Primitives
import Synchronization

/// A reader in the lab's client: reads a file through the package address
/// over and over (a fresh `nfs-cat` each time, NFSv3 or NFSv4, on a new
/// connection), keeping when each read ended and whether it returned the file.
final class ClientReader: Sendable {
    struct Read: Sendable { let start: Double; let end: Double; let ok: Bool }
    let version: Int
    private let reads = Mutex<[Read]>([])
    private let stopping = Mutex(false)
    private let done = DispatchSemaphore(value: 0)

    init(lab: TwoNodeLab, version: Int, file: String, expect: String) {
        self.version = version
        let url = "\(lab.exportURL)/\(file)" + (version == 4 ? "?version=4" : "")
        Thread.detachNewThread { [self] in
            while !stopping.withLock({ $0 }) {
                let start = Monotonic.now()
                // A read not answered within 0.25 s (one takes about 15 ms) is given
                // up and made again: a connection whose SYN went to an address
                // nobody had, or to the old node's MAC before the gratuitous ARP,
                // would otherwise wait out TCP's backoff (1 s, then 2 s more).
                let r = try? lab.on("client", ["nfs-cat", url], timeout: 0.25, check: false)
                let ok = r.map { $0.succeeded && $0.stdoutText == expect } ?? false
                reads.withLock { $0.append(Read(start: start, end: Monotonic.now(), ok: ok)) }
                usleep(25_000)
            }
            done.signal()
        }
    }

    /// Ends the reading (once; later calls return at once).
    func stop() {
        let first = stopping.withLock { was in
            defer { was = true }
            return !was
        }
        if first { done.wait() }
    }

    var all: [Read] { reads.withLock { $0 } }

    /// Whether a read that started after `time` has succeeded.
    func succeeded(after time: Double) -> Bool { all.contains { $0.ok && $0.start >= time } }

    /// The outage in `from...to` as the client saw it: the longest time
    /// between two good reads (from the end of one to the end of the next)
    /// that overlaps it. A read the client's retransmissions carried over
    /// the failover counts as late, not as failed. Reads follow each other
    /// 25 ms apart, and one that does not answer is given up after 0.25 s:
    /// that is the resolution.
    func outage(from: Double, to: Double) -> (lastBefore: Double, firstAfter: Double)? {
        let ends = all.filter(\.ok).map(\.end).sorted()
        var worst: (Double, Double)?
        for (a, b) in zip(ends, ends.dropFirst()) where b >= from && a <= to {
            if worst == nil || b - a > worst!.1 - worst!.0 { worst = (a, b) }
        }
        return worst.map { (lastBefore: $0.0, firstAfter: $0.1) }
    }

    /// Reads that failed outright (an error, not a late answer) in `from...to`.
    func failures(from: Double, to: Double) -> Int { all.filter { !$0.ok && $0.end >= from && $0.start <= to }.count }
}

/// What one failover took.
public struct FailoverReport: Sendable {
    /// A planned move (stop, then start), or a crash (power loss, then a start that takes over).
    public enum Kind: Sendable { case planned, crash }
    /// One line of the timeline: when (seconds from the failover's start),
    /// who (`stop on node1`, `pacemaker`), what.
    public struct Event: Sendable {
        public var offset: Double
        public var who: String
        public var what: String
        /// An action's start or end record (`start` or `done`), not shown: it bounds the steps.
        public var phase: String?
    }
    public var kind: Kind
    public var manager: ClusterManager
    public var from: String
    public var to: String
    /// Seconds from the failover's start until the package ran on `to`.
    public var serving: Double = 0
    /// hanfs's steps and actions, and the cluster's milestones, in time order.
    public var events: [Event] = []
    /// The client's outage per NFS version: from its last good read before
    /// to its first good read after (0 when no read failed).
    public var outage: [Int: Double] = [:]
    /// Reads that failed outright per NFS version (NFSv4: refused in the grace period).
    public var failedReads: [Int: Int] = [:]
    /// The file handles the client had before, used after: what they gave.
    public var handles: String = ""
    /// The client's NLM lock, taken before, reclaimed after.
    public var lock: String = ""
    /// Seconds from the failover's start to the client's statd receiving SM_NOTIFY from the package.
    public var notified: Double?
    /// What the client's writer found after a crash.
    public var written: String?
    /// After a crash under Pacemaker: seconds from the dead node's boot until it was a member again.
    public var rejoined: Double?
    /// What the applications on the client's kernel mounts saw (the VM lab).
    public struct MountResult: Sendable {
        public var version: String
        /// The reader's longest wait between two good reads across the failover.
        public var outage: Double
        /// The writer's longest wait for an acknowledgement across the failover.
        public var writeOutage: Double
        public var text: String
        /// Seconds from nfsd's start on the node taking over until a new lock was granted.
        public var newLock: Double?
    }
    public var mounts: [MountResult] = []
    /// The client connections the start prompted to reconnect, and how many had when it went on.
    public var prompted: (connections: Int, reconnected: Int)?
    /// The kernel server's NFSv4 grace period after the start (the VM lab), as the kernel logged it.
    public var kernelGrace: String?

    /// The timeline's events, each of hanfs's steps with how long it took:
    /// until the next step of its action, the last one until its action ends.
    public var shownEvents: [(event: Event, seconds: Double?)] {
        let shown = events.filter { $0.phase == nil }
        return shown.enumerated().map { i, e in
            guard e.who != "pacemaker" else { return (e, nil) }
            let next = shown[(i + 1)...].first { $0.who == e.who }?.offset
                ?? events.first { $0.who == e.who && $0.phase == "done" }?.offset
            return (e, next.map { $0 - e.offset })
        }
    }

    /// How long an action of hanfs's took (`stop on node1`), from its records.
    public func duration(_ who: String) -> Double? {
        guard let a = events.first(where: { $0.who == who && $0.phase == "start" }),
            let b = events.first(where: { $0.who == who && $0.phase == "done" })
        else { return nil }
        return b.offset - a.offset
    }
}

extension TwoNodeLab {
    /// Does what a cluster manager does when the package must move: stop on
    /// the node that runs it, start on the other. A client reads all along.
    /// `deadClient` (the kernel lab): a second client on the server's record dies first (`strandClient`).
    public func failover(deadClient: Bool = false, log: (String) -> Void) throws -> FailoverReport {
        try move(.planned, deadClient: deadClient, log: log)
    }

    /// The node that runs the package loses its power (its link goes down,
    /// every process in it is killed, its disks are left as they were); then
    /// what a cluster manager does once it has fenced it: start on the
    /// survivor, taking the volume group over. The dead node then boots again
    /// (fresh /run: no marker) and must not run the package. A client reads all along.
    public func crash(deadClient: Bool = false, log: (String) -> Void) throws -> FailoverReport {
        try move(.crash, deadClient: deadClient, log: log)
    }

    /// The node that does not run the package loses its power and boots
    /// again: nothing may change. The package stays where it runs, and the
    /// client, reading all along, sees no outage. Returns the longest time
    /// between two good reads of each NFS version meanwhile.
    public func crashIdle(log: (String) -> Void) throws -> [Int: Double] {
        guard isUp, let running = runningOn() else { throw LabError("package \(Self.package) runs on no node: see hanfs lab status") }
        let idle = Self.nodes.first { $0 != running }!
        let readers = try steadyReaders()
        defer { readers.forEach { $0.stop() } }
        let t0 = Monotonic.now()
        let fenced = fencings(of: idle)
        try powerOff(idle)
        try awaitFencing(of: idle, after: fenced)
        let rejoined = try bootAgain(idle, runningOn: running)
        // Until each has read again once the idle node is back.
        let booted = Monotonic.now()
        while !readers.allSatisfy({ $0.succeeded(after: booted) }) {
            guard Monotonic.now() < booted + 10 else { throw LabError("the client stopped reading when \(idle) crashed") }
            usleep(20_000)
        }
        readers.forEach { $0.stop() }
        var gaps: [Int: Double] = [:]
        for r in readers { gaps[r.version] = r.outage(from: t0, to: Monotonic.now()).map { $0.firstAfter - $0.lastBefore } ?? 0 }
        let fencedBy = manager == .pacemaker ? ", fenced by \(running)" : ""
        let member = rejoined.map { String(format: ", rejoined the cluster in %.0f ms", $0 * 1000) } ?? ""
        log("crash of \(idle), which ran nothing: powered off\(fencedBy) and booted again\(member); \(Self.package) stays on \(running)")
        for v in gaps.keys.sorted() {
            log("  client, NFSv\(v): longest time between two good reads meanwhile \(Int((gaps[v]! * 1000).rounded())) ms")
        }
        return gaps
    }

    func move(_ kind: FailoverReport.Kind, deadClient: Bool, log: (String) -> Void) throws -> FailoverReport {
        guard isUp else { throw LabError("the lab is not up: hanfs lab up first") }
        guard let from = runningOn() else { throw LabError("package \(Self.package) runs on no node: see hanfs lab status") }
        if deadClient {
            guard server == .kernel else { throw LabError("--dead-client: the kernel lab's (hanfs lab up --kernel)") }
            try strandClient(log: log)
        }
        let to = Self.nodes.first { $0 != from }!
        // The client: the lab's own RPC client and libnfs's tools, or (the VM lab) applications on the kernel's mounts.
        let probes = server == .kernel ? nil : try ClientProbes(self, kind)
        defer { probes?.stop() }
        var load = server == .kernel ? try KernelClientLoad(self) : nil
        defer { load?.stop() }
        let notifiedBefore = notifications()

        var report = FailoverReport(kind: kind, manager: manager, from: from, to: to)
        let wall = Date()
        let booted = server == .kernel ? Self.uptime() : 0
        let t0 = Monotonic.now()
        let fenced = fencings(of: from)
        try handOver(kind, from: from, to: to)
        if kind == .crash { try awaitFencing(of: from, after: fenced) }
        let t2 = Monotonic.now()
        report.serving = t2 - t0
        try load?.askForNewLocks()
        // The client's statd hears from the package.
        let waitUntil = Monotonic.now() + 10
        while report.notified == nil && Monotonic.now() < waitUntil {
            if notifications() > notifiedBefore { report.notified = Monotonic.now() - t0 } else { usleep(20_000) }
        }
        try probes?.finish(&report, t0: t0, t2: t2)
        if kind == .crash { report.rejoined = try bootAgain(from, runningOn: to) }
        try probes?.verifyWriter(&report, t0: t0)
        report.mounts = try load?.verify(since: t0, serving: t2) ?? []
        if server == .kernel, let load {
            let (text, started) = kernelGrace(on: to, since: booted)
            report.kernelGrace = text
            for i in report.mounts.indices {
                report.mounts[i].newLock = started.flatMap { s in load.newLocks[report.mounts[i].version].map { $0 - s } }
            }
        }
        report.events = events(since: wall, nodes: [from, to])
        if let p = report.events.last(where: { $0.phase == "prompted" && $0.who == "start on \(to)" }) {
            let f = p.what.split(separator: " ").compactMap { Int($0) }
            if f.count == 2 { report.prompted = (f[0], f[1]) }
        }
        log(report.timeline(grace: grace))
        return report
    }

    /// What the cluster manager does when the package must leave `from`,
    /// until it runs on `to`.
    ///
    /// - Pacemaker: a planned move is asked of it (`crm_resource --move`,
    ///   cleared once it is done); after a power loss it notices, fences the
    ///   dead node, and starts the package on the survivor.
    /// - None: the lab stops and starts it itself; after a power loss it
    ///   starts it with --takeover, the dead node being off for certain.
    func handOver(_ kind: FailoverReport.Kind, from: String, to: String) throws {
        if kind == .crash { try powerOff(from) }
        switch manager {
        case .pacemaker:
            if kind == .planned { try on(from, ["crm_resource", "--move", "--resource", Self.package, "--node", to]) }
            try cluster.wait("\(Self.package) to run on \(to)", from: to, in: site, within: 120) {
                $0.role == "Started" && !$0.failed && $0.runningOn == [to]
            }
            if kind == .planned { try on(to, ["crm_resource", "--clear", "--resource", Self.package]) }
        case .none:
            if kind == .planned {
                let stop = try hanfs(from, "stop", check: false)
                guard stop.succeeded else { throw LabError("stop on \(from) failed: \(stop.failureReason)") }
            }
            let start = try on(to, [hanfs, "start"] + (kind == .crash ? ["--takeover"] : []) + ["--config", config], timeout: 600, check: false)
            guard start.succeeded else { throw LabError("start on \(to) failed: \(start.failureReason)") }
        }
    }

    /// Under Pacemaker, a node that lost its power is fenced before it may
    /// boot again: a node that came back unfenced would be fenced then.
    public func awaitFencing(of node: String, after count: Int) throws {
        guard manager == .pacemaker else { return }
        let until = Monotonic.now() + 60
        while fencings(of: node) <= count {
            guard Monotonic.now() < until else { throw LabError("\(node) was not fenced within 60 s (\(fenceLog))") }
            usleep(50_000)
        }
    }

    /// The crashed node boots again, and the package stays where it runs.
    /// Under Pacemaker, it waits until the node is a member of the cluster
    /// again, and returns how long that took.
    @discardableResult
    func bootAgain(_ node: String, runningOn survivor: String) throws -> Double? {
        let t0 = Monotonic.now()
        try powerOn(node)
        var rejoined: Double?
        if manager == .pacemaker {
            try cluster.wait("\(node) to rejoin the cluster", from: survivor, in: site, within: 60) {
                $0.online.count == 2 && $0.unclean.isEmpty && $0.hasDC
            }
            rejoined = Monotonic.now() - t0
            // Pacemaker probes the package on the node that came back: it must find it not running there.
            let until = Monotonic.now() + 30
            var probe = cluster.probe(on: node, from: survivor, in: site)
            // (193: recorded as pending, still running.)
            while probe == nil || probe == 193, Monotonic.now() < until {
                usleep(100_000)
                probe = cluster.probe(on: node, from: survivor, in: site)
            }
            let after = cluster.state(from: survivor, in: site)
            guard probe == 7, let after, after.failures.isEmpty, after.runningOn == [survivor] else {
                throw LabError("after \(node) rejoined: Pacemaker's probe of \(Self.package) there returned \(probe.map(String.init) ?? "nothing"), "
                    + "not 7 (not running); \(after.map { "\(Self.package) runs on \($0.runningOn); failed: \($0.failures)" } ?? "")")
            }
        }
        let running = Self.nodes.filter { isStarted(on: $0) }
        guard running == [survivor] else {
            throw LabError("after \(node) booted again the package runs on \(running.isEmpty ? "no node" : running.joined(separator: " and ")), not only on \(survivor)")
        }
        return rejoined
    }

    /// A reader of each NFS version in the client, once both read (NFSv4
    /// waits out a grace period after a start).
    func steadyReaders() throws -> [ClientReader] {
        let expect = (try? String(contentsOfFile: "\(dir)/hello.txt", encoding: .utf8)) ?? ""
        let readers = [3, 4].map { ClientReader(lab: self, version: $0, file: "hello.txt", expect: expect) }
        let settle = Monotonic.now()
        while !readers.allSatisfy({ $0.succeeded(after: settle) }) {
            guard Monotonic.now() < settle + Double(grace) + 15 else {
                readers.forEach { $0.stop() }
                throw LabError("the client cannot read \(exportURL)/hello.txt")
            }
            usleep(50_000)
        }
        return readers
    }

    /// A `hanfs lab-client` command in the client; its output, or why it failed.
    func client(_ arguments: [String]) throws -> String {
        let r = try on("client", [hanfs, "lab-client"] + arguments, timeout: 30, check: false)
        guard r.succeeded else { throw LabError(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` until `done` says its output will do, or `within` seconds pass.
    @discardableResult
    func retry(_ what: String, within: Double, until done: (String) -> Bool, _ body: () throws -> String) throws -> String {
        let until = Monotonic.now() + within
        var last = ""
        while Monotonic.now() < until {
            do {
                last = try body()
                if done(last) { return last }
            } catch {
                last = "\(error)"
            }
            usleep(200_000)
        }
        throw LabError("\(what): \(last)")
    }

    /// How many crash notifications from the package the client's statd has logged.
    public func notifications() -> Int {
        ((try? String(contentsOfFile: clientStatdLog, encoding: .utf8)) ?? "")
            .components(separatedBy: "Received SM_NOTIFY from \(Self.package)").count - 1
    }

    /// The events since `since` (wall-clock) of hanfs's records on `nodes`
    /// (each action's start and end, each step, a volume group taken over),
    /// and of the cluster's log there.
    func events(since: Date, nodes: [String]) -> [FailoverReport.Event] {
        var events: [FailoverReport.Event] = []
        let parser = ISO8601DateFormatter.fractional
        for node in nodes {
            for record in PackageEvents.read("\(logDirectory(node))/hanfs/\(Self.package).log.jsonl") {
                guard let stamp = record["time"] as? String, let time = parser.date(from: stamp), time >= since,
                    let action = record["action"] as? String
                else { continue }
                let who = "\(action) on \(node)", at = time.timeIntervalSince(since)
                switch record["event"] as? String {
                case "step":
                    if let title = record["step"] as? String { events.append(.init(offset: at, who: who, what: title)) }
                case "takeover":
                    let title = "took volume group \(record["volume_group"] as? String ?? "?") over from \(record["from"] as? String ?? "?")"
                    events.append(.init(offset: at, who: who, what: title))
                case "clients_prompted":
                    let n = Int(record["prompted"] as? String ?? "") ?? 0, back = Int(record["reconnected"] as? String ?? "") ?? 0
                    events.append(.init(offset: at, who: who, what: "\(n) \(back)", phase: "prompted"))
                case "action" where ["start", "stop"].contains(action):
                    if let phase = record["phase"] as? String { events.append(.init(offset: at, who: who, what: phase, phase: phase)) }
                default: break
                }
            }
        }
        if manager == .pacemaker {
            let logs = nodes.map { "\(logDirectory($0))/pacemaker/pacemaker.log" }
            // (A node that boots logs the others becoming members too: only the node that came back is news.)
            for m in cluster.milestones(since: since, logs: logs)
            where !nodes.dropFirst().contains(where: { m.text == "corosync: \($0) member" }) {
                events.append(.init(offset: m.offset, who: "pacemaker", what: m.text))
            }
        }
        return events.sorted { $0.offset < $1.offset }
    }
}

extension FailoverReport {
    public func timeline(grace: Int) -> String {
        func ms(_ s: Double) -> String { String(format: "%7.0f ms", s * 1000) }
        let decided = manager == .pacemaker ? "Pacemaker" : "hanfs lab"
        var text: String
        switch kind {
        case .planned:
            text = "failover of \(TwoNodeLab.package): \(from) -> \(to) (\(manager == .pacemaker ? "asked of Pacemaker: crm_resource --move" : "stop, then start, by hanfs lab"))\n"
        case .crash:
            text = "crash of \(from), which ran \(TwoNodeLab.package): power off (link down, every process killed); "
                + (manager == .pacemaker ? "Pacemaker fences it and starts the package on \(to)\n" : "start on \(to) taking over\n")
        }
        for (e, seconds) in shownEvents {
            var line = "  +\(ms(e.offset))  \(e.who.padding(toLength: 14, withPad: " ", startingAt: 0)) \(e.what)"
            if let seconds { line += "  (\(String(format: "%.0f", seconds * 1000)) ms)" }
            text += line + "\n"
        }
        let stop = duration("stop on \(from)").map { "stop on \(from): \(ms($0)); " } ?? ""
        let start = duration("start on \(to)").map { "start on \(to): \(ms($0)); " } ?? ""
        switch kind {
        case .planned:
            text += "  \(stop)\(start)running on \(to) \(ms(serving)) after \(decided) was asked\n"
        case .crash:
            text += "  \(start)running on \(to) \(ms(serving)) after the power loss (\(decided) decided); "
            text += "\(from) booted again\(rejoined.map { ", rejoined the cluster in \(ms($0))," } ?? "") and does not run it\n"
        }
        if let (n, back) = prompted {
            text += "  \(to) prompted \(n) client connection(s) recorded by \(kind == .planned ? "the stop" : "the monitor") to reconnect: \(back) did\n"
        }
        for m in mounts {
            text += "  client, kernel NFSv\(m.version) mount: \(m.text)"
            text += m.newLock.map { String(format: "; a new lock granted %.1f s after nfsd started", $0) } ?? ""
            text += "\n"
        }
        for v in outage.keys.sorted() {
            text += "  client, NFSv\(v): outage \(ms(outage[v]!)) from the last good read before to the first after"
            text += " (\(failedReads[v] ?? 0) read(s) failed outright)\n"
        }
        if !handles.isEmpty { text += "  client, file handles from before: \(handles) (none stale)\n" }
        if !lock.isEmpty { text += "  client, NLM lock: \(lock)\n" }
        if let written { text += "  client, writer: \(written)\n" }
        text += "  client1's rpc.statd: " + (notified.map { "SM_NOTIFY from \(TwoNodeLab.package) at +\(ms($0))" } ?? "no SM_NOTIFY from \(TwoNodeLab.package)") + "\n"
        if let kernelGrace {
            text += "  the kernel server's NFSv4 grace period (\(grace) s): \(kernelGrace)\n"
        } else {
            text += "  (NFS-Ganesha's grace period: \(grace) s; NFSv4 opens wait it out, NFSv3 reads do not)\n"
        }
        return text
    }
}

/// The lab's own client across a failover (NFS-Ganesha's lab): readers of
/// each NFS version (`nfs-cat`), the file handles and an NLM lock taken
/// before and used after (`hanfs lab-client`), and across a crash a writer.
struct ClientProbes {
    let lab: TwoNodeLab
    let readers: [ClientReader]
    let v3: String
    let v4: String
    let writer: ClientWriter?

    init(_ lab: TwoNodeLab, _ kind: FailoverReport.Kind) throws {
        self.lab = lab
        readers = try lab.steadyReaders()
        // What a real client holds: file handles, and an NLM lock (its server's statd then monitors it).
        let handles = try lab.client(["handles"]).split(separator: "\n").reduce(into: [String: String]()) {
            let f = $1.split(separator: " ")
            if f.count == 2 { $0[String(f[0])] = String(f[1]) }
        }
        guard let v3 = handles["v3"], let v4 = handles["v4"] else {
            readers.forEach { $0.stop() }
            throw LabError("the client got no file handles")
        }
        self.v3 = v3
        self.v4 = v4
        try lab.retry("lock", within: Double(lab.grace) + 10, until: { $0 == "granted" }) { try lab.client(["lock", "--v3", v3]) }
        // Across a crash, a writer too: what the server acknowledged must be on the disk after.
        writer = kind == .crash ? try ClientWriter(lab) : nil
    }

    func stop() {
        readers.forEach { $0.stop() }
        writer?.stop()
    }

    /// Once the package runs again (`t2`): the handles from before still name
    /// the file; the lock is reclaimed in the grace period; each reader
    /// reads again (NFSv4 after the grace period); the outages.
    func finish(_ report: inout FailoverReport, t0: Double, t2: Double) throws {
        let checked = try lab.retry("the handles from before", within: 10, until: { _ in true }) {
            try lab.client(["check", "--v3", v3, "--v4", v4])
        }
        let reclaimed = (try? lab.retry("lock reclaim", within: Double(lab.grace), until: { $0 == "granted" }) {
            try lab.client(["lock", "--v3", v3, "--reclaim"])
        }) ?? ((try? lab.client(["lock", "--v3", v3, "--reclaim"])) ?? "no answer")
        while !readers.allSatisfy({ $0.succeeded(after: t2) }) {
            guard Monotonic.now() < t2 + Double(lab.grace) + 30 else {
                throw LabError("the client did not read again within \(lab.grace + 30) s of the start on \(report.to)")
            }
            usleep(50_000)
        }
        readers.forEach { $0.stop() }
        let t3 = Monotonic.now()
        for r in readers {
            report.outage[r.version] = r.outage(from: t0, to: t3).map { $0.firstAfter - $0.lastBefore } ?? 0
            report.failedReads[r.version] = r.failures(from: t0, to: t3)
        }
        report.handles = checked.replacingOccurrences(of: "\n", with: "; ")
        report.lock = "taken before; reclaim after: \(reclaimed)"
    }

    func verifyWriter(_ report: inout FailoverReport, t0: Double) throws {
        report.written = try writer.map { try $0.verify(crashedAt: t0) }
    }
}

/// The client's writer across a crash: `hanfs lab-client write` in the
/// client, in the background, a 16-byte record every 20 ms to
/// `records-<time>.log`, each with FILE_SYNC and retried until acknowledged.
/// Afterwards every acknowledged record must be on the disk.
struct ClientWriter {
    let lab: TwoNodeLab
    let acks: String
    /// A file of its own for each crash.
    let file = "records-\(Int(Date().timeIntervalSince1970 * 1000)).log"

    init(_ lab: TwoNodeLab) throws {
        self.lab = lab
        acks = "\(lab.dir)/writer.acks"
        try? FileManager.default.removeItem(atPath: acks)
        let empty = "\(lab.dir)/records.empty"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        try lab.on("client", ["nfs-cp", empty, "\(lab.exportURL)/\(file)"])
        let handles = try lab.client(["handles", "--file", file])
        guard let v3 = handles.split(separator: "\n").first(where: { $0.hasPrefix("v3 ") })?.dropFirst(3) else {
            throw LabError("the writer got no file handle for \(file)")
        }
        try lab.site.spawn(
            "client", [lab.hanfs, "lab-client", "write", "--v3", String(v3), "--acks", acks], log: "\(lab.dir)/writer.log")
        try waitFor("the writer's first records", within: 10) { $0.count >= 5 }
    }

    /// Every acknowledged record: its number and when (monotonic seconds).
    var acknowledged: [(n: Int, at: Double)] {
        ((try? String(contentsOfFile: acks, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let n = Int(f[0]), let at = Double(f[1]) else { return nil }
            return (n, at)
        }
    }

    func waitFor(_ what: String, within: Double, _ done: ([(n: Int, at: Double)]) -> Bool) throws {
        let until = Monotonic.now() + within
        while !done(acknowledged) {
            guard Monotonic.now() < until else { throw LabError("\(what): not within \(Int(within)) s") }
            usleep(20_000)
        }
    }

    func stop() {
        // (It runs in the client's network namespace, not this one's.)
        for pid in ProcessTable.matching({ $0.count > 2 && $0[1] == "lab-client" && $0[2] == "write" && $0.contains(acks) }, everyNetwork: true) {
            kill(pid, SIGKILL)
        }
    }

    /// After the take-over: writes acknowledged again, then every
    /// acknowledged record read back through the package address.
    func verify(crashedAt t0: Double) throws -> String {
        try waitFor("writes acknowledged again after the crash", within: Double(lab.grace) + 30) { acks in
            acks.filter { $0.at > t0 }.count >= 10
        }
        stop()
        let acks = acknowledged
        let data = Array(try lab.on("client", ["nfs-cat", "\(lab.exportURL)/\(file)"], timeout: 30).stdout)
        let missing = NFSClient.missingRecords(acks.map(\.n), in: data)
        guard missing.isEmpty else {
            throw LabError("\(missing.count) acknowledged record(s) lost in the crash, the first \(missing[0])")
        }
        let times = acks.map(\.at)
        let gap = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? 0
        return "\(acks.count) records acknowledged with FILE_SYNC, every one on the disk after the crash; "
            + "longest wait for an acknowledgement \(Int((gap * 1000).rounded())) ms"
    }
}
