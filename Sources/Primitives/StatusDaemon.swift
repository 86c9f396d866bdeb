import Foundation
import SafeFiles

/// rpc.statd for the package: restarted under the package's name, with
/// hanfs as its high-availability callout so that each client it starts or
/// stops monitoring reaches the holding directory at once.
public struct StatusDaemon: Sendable {
    public let node: NodeContext
    /// The callout statd runs: a link to the hanfs binary under this name
    /// (statd runs it with `add-client MON_NAME CALLER`, no room for a subcommand).
    public static let calloutName = "hanfs-statd-callout"

    public init(_ node: NodeContext) { self.node = node }

    /// Stops any rpc.statd here, then starts one named `name` on
    /// `stateDirectory`, without notifying (sm_notify does that, per name),
    /// with the callout writing to `holding` when given. Waits until it is
    /// registered with rpcbind.
    ///
    /// Every wait is bounded, and the node is left as it was found when the
    /// restart fails: rpcbind is asked first (statd can neither unregister
    /// nor register without it, and would be stopped for nothing), the old
    /// statd gets `stopTimeout` after TERM, and if the new one does not come
    /// up within `timeout`, it is ended and the old one started again as it ran.
    /// Returns how the statd it replaced ran, for `restore` (nil: none ran).
    @discardableResult
    public func restart(name: String, stateDirectory: String, holding: String?, hanfs: String, timeout: Double) throws
        -> Invocation?
    {
        if !node.planning { try RPCPing.requireRpcbind("rpc.statd is left as it was") }
        let previous = node.planning ? nil : Self.daemon.processes.first.flatMap(Self.invocation)
        stop(timeout: min(Self.stopTimeout, timeout / 2))
        do {
            try start(name: name, stateDirectory: stateDirectory, holding: holding, hanfs: hanfs, timeout: timeout)
        } catch {
            stop(timeout: 1)
            if let previous {
                node.logger.warning("starting rpc.statd as \(name) failed: starting the one that ran before again")
                _ = try? node.run(previous.argv, timeout: Self.stopTimeout, environment: previous.environment)
            }
            throw error
        }
        return previous
    }

    /// Puts back the statd a restart replaced (the undo of a start that
    /// failed after it): ends the package's, starts `previous` as it ran and
    /// waits for it to register; with no previous one, only ends it.
    public func restore(_ previous: Invocation?, timeout: Double) throws {
        stop(timeout: min(Self.stopTimeout, timeout / 2))
        guard let previous else { return }
        try node.run(previous.argv, timeout: timeout, environment: previous.environment)
        guard !node.planning else { return }
        try waitForRegistration(timeout: timeout)
    }

    /// Seconds a stopping statd has after TERM before KILL.
    static let stopTimeout = 5.0

    private func start(name: String, stateDirectory: String, holding: String?, hanfs: String, timeout: Double) throws {
        var argv = ["rpc.statd", "--no-notify", "-n", name, "-P", stateDirectory]
        var environment: [String: String] = [:]
        if let holding {
            let callout = try calloutLink(hanfs: hanfs)
            argv += ["-H", callout]
            environment = ["HANFS_SM_DIR": stateDirectory + "/sm", "HANFS_HOLDING_DIR": holding]
        }
        try node.run(argv, timeout: timeout, environment: environment)
        guard !node.planning else { return }
        try waitForRegistration(timeout: timeout)
    }

    private func waitForRegistration(timeout: Double) throws {
        let until = Monotonic.now() + timeout
        while true {
            if (try? RPCPing.ping(program: 100024, version: 1, transport: .udp, timeout: 1)) != nil { return }
            if Monotonic.now() > until { throw PrimitiveError("rpc.statd did not register with rpcbind within \(CommandResult.seconds(timeout))") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// How a statd was started: its argv, and the HANFS_ variables of its
    /// environment (its callout's directories).
    public struct Invocation: Codable, Sendable, Equatable {
        public var argv: [String]
        public var environment: [String: String]
    }

    static func invocation(_ pid: Int32) -> Invocation? {
        guard let argv = ProcFile.bytes("/proc/\(pid)/cmdline").map({ $0.split(separator: 0).map { String(decoding: $0, as: UTF8.self) } }),
            !argv.isEmpty
        else { return nil }
        var environment: [String: String] = [:]
        for entry in (ProcFile.bytes("/proc/\(pid)/environ") ?? []).split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard text.hasPrefix("HANFS_"), let eq = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return Invocation(argv: argv, environment: environment)
    }

    /// SLES-style takeover: the kernel's lockd thread gets SIGKILL, on which
    /// it drops the NLM locks it holds and enters a new grace period (what
    /// rgmanager did); statd is left running and sm-notify does the
    /// notification. Returns false when there is no lockd here (no kernel NFS server).
    @discardableResult
    public func restartLockd() -> Bool {
        let threads = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter {
            ProcFile.read("/proc/\($0)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) == "lockd"
                && (ProcFile.bytes("/proc/\($0)/cmdline")?.isEmpty ?? false)
        }
        guard !threads.isEmpty else {
            node.logger.warning("no lockd here (the kernel NFS server is not running): no locks to drop, no grace period")
            return false
        }
        for pid in threads {
            node.effects.change("send KILL to lockd (pid \(pid)): drop the NLM locks, new grace period") {
                kill(pid, SIGKILL)
                node.logger.info("sent KILL to lockd (pid \(pid)): NLM locks dropped, new grace period")
            }
        }
        return true
    }

    /// Every rpc.statd here (this network namespace).
    public static let daemon = BackgroundService(name: "rpc.statd", argv: []) {
        $0.first.map { $0.hasSuffix("rpc.statd") } ?? false
    }

    /// TERM to every rpc.statd here, then KILL to those still there after `timeout`.
    public func stop(timeout: Double) { _ = Self.daemon.stop(node, timeout: timeout) }

    /// `<run dir>/hanfs-statd-callout`, a link to the hanfs binary.
    func calloutLink(hanfs: String) throws -> String {
        let directory = node.settings.runDirectory
        let link = "\(directory)/\(Self.calloutName)"
        try node.effects.change("link \(link) to \(hanfs)") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            unlink(link)
            guard symlink(hanfs, link) == 0 else {
                throw PrimitiveError("cannot link \(link) to \(hanfs): \(String(cString: strerror(errno)))")
            }
        }
        return link
    }

    /// What the callout does: add-client copies the client's entry from the
    /// SM directory to the holding directory; del-client removes it there.
    public static func callout(event: String, monName: String, sm smPath: String, holding holdingPath: String) throws {
        guard Directory.isEntryName(monName) else {
            throw PrimitiveError("callout: \"\(monName)\" is not an entry name")
        }
        switch event {
        case "add-client":
            let sm = try StatusMonitor.open(smPath, "the SM directory")
            let holding = try StatusMonitor.open(holdingPath, "the holding directory")
            try StatusMonitor.copy(monName, from: sm, to: holding)
        case "del-client":
            // Only while the package's sync runs: once stop has ended it, the
            // NFS server going away unmonitors its clients (NFS-Ganesha sends
            // SM_UNMON for each), and those entries are what the node that
            // takes over must notify.
            guard !StatusMonitor.sync(holding: holdingPath).processes.isEmpty else { return }
            let holding = try StatusMonitor.open(holdingPath, "the holding directory")
            try StatusMonitor.throwing { () throws(FileProblem) in try holding.remove(monName) }
        default:
            break  // sm-notify: a peer rebooted; nothing to keep.
        }
    }

    /// A fresh NSM state number in `<stateDirectory>/state`: random and
    /// even, so that the next sm-notify or statd bumps it to a new odd one
    /// that no client has seen from this package.
    public static func freshState(_ stateDirectory: String) throws -> UInt32 {
        let value = UInt32.random(in: 2...(UInt32.max - 2)) & ~1
        // The state directory belongs to the statd user on some systems:
        // worked in through its descriptor, the file written aside and
        // renamed (never opened where a planted link could point).
        let directory = try StatusMonitor.open(stateDirectory, "the statd state directory")
        var like = stat()
        fstat(directory.fd, &like)
        like.st_mode = S_IFREG | 0o644
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        like.st_atim = now
        like.st_mtim = now
        let bytes = withUnsafeBytes(of: value) { Array($0) }
        try StatusMonitor.throwing { () throws(FileProblem) in try directory.write("state", bytes, like: like) }
        return value
    }
}
