import Foundation
import LinuxCalls
import SafeFiles

/// The kernel NFS server of this node (its network namespace), where the
/// package runs it (`kernel.manage`): rpc.mountd, nfsdcld with the
/// package's NFSv4 client records, and nfsd started by rpc.nfsd under the
/// package's server scope with its threads, grace and lease.
///
/// Each start is a fresh nfsd: one that ran is stopped first, so that NFSv4
/// and lockd (NLM) are in grace when the clients are told to reclaim, and
/// nfsd reads the client records of the package's storage, just mounted.
/// The kernel takes the NFSv4 server scope from the host name when nfsd
/// starts; rpc.nfsd runs in a UTS namespace of its own named after the
/// package (`hanfs with-hostname`), so the scope is the same on every node
/// and clients may reclaim on the node that takes over.
public struct KernelServer: Sendable {
    public let node: NodeContext
    /// The kernel server's control files (the nfsd file system).
    public var control = "/proc/fs/nfsd"
    /// lockd's grace period, which it reads as it starts (the node's, not a network namespace's).
    public var lockdGrace = "/proc/sys/fs/nfs/nlm_grace_period"
    /// Where nfsdcld finds the kernel's upcall pipe.
    public var pipefs = "/var/lib/nfs/rpc_pipefs"

    public init(_ node: NodeContext, control: String = "/proc/fs/nfsd") {
        self.node = node
        self.control = control
    }

    /// The NFSv4 clients it holds state for (`clients/*/info` of the nfsd
    /// file system): each one's address and minor version.
    public func clients() -> [(address: String, minorVersion: Int?)] {
        let dir = control + "/clients"
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return ids.sorted().compactMap { id in
            (try? String(contentsOfFile: "\(dir)/\(id)/info", encoding: .utf8)).flatMap(Self.client)
        }
    }

    /// One `info` file: `address: "192.0.2.100:876"`, `minor version: 2`, ...
    public static func client(_ info: String) -> (address: String, minorVersion: Int?)? {
        var address: String?, minor: Int?
        for line in info.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "address" {
                var a = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                // host:port, [v6]:port
                if a.hasPrefix("["), let close = a.firstIndex(of: "]") { a = String(a[a.index(after: a.startIndex)..<close]) }
                else if let colon = a.lastIndex(of: ":"), a.filter({ $0 == ":" }).count == 1 { a = String(a[..<colon]) }
                address = a
            }
            if parts[0] == "minor version" { minor = Int(parts[1]) }
        }
        return address.map { ($0, minor) }
    }

    /// What the package asks of it.
    public struct Settings: Sendable {
        public var scope: String
        public var threads: Int
        public var graceTime: Double
        /// lockd's grace period (NLM).
        public var nlmGraceTime: Double
        public var leaseTime: Double
        /// nfsdcld's storage: the NFSv4 client records, on the package's storage.
        public var recoveryDirectory: String
        public init(scope: String, threads: Int, graceTime: Double, nlmGraceTime: Double, leaseTime: Double, recoveryDirectory: String) {
            self.scope = scope
            self.threads = threads
            self.graceTime = graceTime
            self.nlmGraceTime = nlmGraceTime
            self.leaseTime = leaseTime
            self.recoveryDirectory = recoveryDirectory
        }
    }

    /// nfsd's threads here; nil where there is no kernel server to ask.
    public var threads: Int? {
        ProcFile.read("\(control)/threads").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public var isRunning: Bool { (threads ?? 0) > 0 }

    /// Whether the NFSv4 grace period has ended (nil: no server).
    public var graceEnded: Bool? {
        ProcFile.read("\(control)/v4_end_grace").map { $0.hasPrefix("Y") }
    }

    public static let mountd = BackgroundService(name: "rpc.mountd", argv: ["rpc.mountd"]) {
        $0.first.map { $0.hasSuffix("rpc.mountd") } ?? false
    }

    /// nfsdcld, whatever its storage.
    static func isTracker(_ argv: [String]) -> Bool { argv.first.map { $0.hasSuffix("nfsdcld") } ?? false }

    /// nfsdcld keeping its records in `storage`.
    func tracker(_ storage: String) -> BackgroundService {
        BackgroundService(name: "nfsdcld (records in \(storage))", argv: ["nfsdcld", "-p", pipefs, "-s", storage]) {
            Self.isTracker($0) && zip($0, $0.dropFirst()).contains { $0 == "-s" && $1 == storage }
        }
    }

    /// Starts the server for the package; `hanfs`: this program, for its
    /// `with-hostname`. Returns `.done`; there is no `.already`: a running
    /// server is restarted, for the grace period a takeover needs.
    public func start(_ s: Settings, hanfs: String, timeout: Double) throws -> Outcome {
        guard node.planning || threads != nil else {
            throw PrimitiveError(
                "no kernel NFS server here: \(control)/threads is missing (load nfsd and mount the nfsd file system on \(control))")
        }
        if let running = threads, running > 0 {
            try node.effects.change("stop nfsd (\(running) threads) for a new grace period") {
                try node.run(["rpc.nfsd", "0"], timeout: timeout)
                node.logger.info("stopped nfsd (\(running) threads): its NFSv4 and NLM state goes, a new grace period begins")
            }
        }
        try startTracker(s.recoveryDirectory, timeout: timeout)
        _ = try Self.mountd.start(node, within: timeout)
        // Both grace periods set here, not by rpc.nfsd's --grace-time, which
        // gives lockd the NFSv4 one. nfsd reads its own as it starts; lockd,
        // which nfsd starts, the node's fs.nfs.nlm_grace_period.
        try set(Self.seconds(s.graceTime), "\(control)/nfsv4gracetime", "the NFSv4 grace period")
        try set(Self.seconds(s.nlmGraceTime), lockdGrace, "lockd's grace period")
        let argv = [hanfs, "with-hostname", s.scope, "--", "rpc.nfsd", "--lease-time", Self.seconds(s.leaseTime), String(s.threads)]
        try node.run(argv, timeout: timeout)
        guard node.planning || isRunning else {
            throw PrimitiveError("rpc.nfsd ran, but nfsd has no threads (\(control)/threads)")
        }
        return .done
    }

    /// Stops nfsd (every NFSv4 state and NLM lock it held goes with it) and
    /// the package's nfsdcld, which lets go of the records on its storage.
    public func stop(recoveryDirectory: String, timeout: Double) throws -> Outcome {
        let tracker = tracker(recoveryDirectory)
        guard isRunning || !tracker.processes.isEmpty else { return .already }
        if let running = threads, running > 0 {
            try node.run(["rpc.nfsd", "0"], timeout: timeout)
            guard node.planning || !isRunning else { throw PrimitiveError("rpc.nfsd 0 ran, but nfsd still has threads") }
        }
        _ = tracker.stop(node, timeout: timeout)
        return .done
    }

    /// nfsdcld of the package's storage, and no other here (one per network
    /// namespace serves the kernel); ready once it holds the upcall pipe.
    func startTracker(_ storage: String, timeout: Double) throws {
        let mine = tracker(storage)
        let others = BackgroundService(name: "nfsdcld", argv: []) { Self.isTracker($0) && !mine.matches($0) }
        _ = others.stop(node, timeout: timeout)
        try LinkFreePath.check(storage, "nfsdcld's storage")
        try node.effects.change("make \(storage)") {
            try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        }
        try LinkFreePath.check(storage, "nfsdcld's storage")
        // Ready once it has its database open: it then waits for the kernel's
        // upcall pipe, which nfsd makes as it starts and gives it a second to open.
        _ = try mine.start(node, within: timeout) { pid in
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return fds.contains { ProcessUsers.readLink("/proc/\(pid)/fd/\($0)")?.hasPrefix(storage + "/") ?? false }
        }
    }

    /// Drops the NLM locks clients took through `address` (`unlock_ip`).
    public func unlockAddress(_ address: String) -> Outcome {
        write(address, to: "unlock_ip", done: "released the NLM locks taken through \(address)")
    }

    /// Drops the NLM locks on the file system of `directory` (`unlock_filesystem`).
    public func unlockFileSystem(_ directory: String) -> Outcome {
        write(directory, to: "unlock_filesystem", done: "released the NLM locks on \(directory)")
    }

    /// Ends the NFSv4 grace period now (`v4_end_grace`).
    public func endGrace() -> Outcome {
        guard graceEnded == false else { return .already }
        return write("Y", to: "v4_end_grace", done: "ended the NFSv4 grace period")
    }

    /// A setting the start needs: written, or an error.
    private func set(_ value: String, _ path: String, _ what: String) throws {
        try node.effects.change("write \(value) to \(path) (\(what))") {
            do {
                try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                throw PrimitiveError("cannot set \(what) to \(value) s in \(path): \(error.localizedDescription)")
            }
        }
    }

    private func write(_ value: String, to file: String, done: String) -> Outcome {
        let control = "\(control)/\(file)"
        guard FileManager.default.fileExists(atPath: control) else {
            node.logger.debug("no \(control): no kernel NFS server here")
            return .skipped
        }
        node.effects.change("write \(value) to \(control)") {
            do {
                try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: control))
                node.logger.info("\(done)")
            } catch {
                node.logger.warning("could not write \(value) to \(control): \(error.localizedDescription)")
            }
        }
        return .done
    }

    static func seconds(_ value: Double) -> String { String(Int(value.rounded(.up))) }
}

extension KernelServer {
    /// `hanfs with-hostname NAME -- COMMAND...`: runs the command in a UTS
    /// namespace of its own whose host name is `name` (the NFSv4 server
    /// scope nfsd takes at its start). Returns only on failure.
    public static func execWithHostName(_ name: String, _ argv: [String]) -> String {
        guard !argv.isEmpty else { return "no command" }
        guard lc_unshare_uts() == 0 else { return "unshare(CLONE_NEWUTS): \(String(cString: strerror(errno)))" }
        guard sethostname(name, name.utf8.count) == 0 else { return "sethostname(\(name)): \(String(cString: strerror(errno)))" }
        var cargs = argv.map { strdup($0) } + [nil]
        execvp(argv[0], &cargs)
        return "\(argv[0]): \(String(cString: strerror(errno)))"
    }
}
