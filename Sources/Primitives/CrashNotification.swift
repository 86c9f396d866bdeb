import Foundation
import SafeFiles

/// SM_NOTIFY to every client the status monitor lists, sent by sm-notify as
/// the package's name or address, so that the clients reclaim their locks
/// from the node that now has the package. sm-notify goes to the background
/// after its first round and retries for `retryMinutes` at most: an
/// unreachable client cannot hold up a start.
public struct CrashNotification: Sendable {
    public let node: NodeContext
    /// sm-notify's pid file: one sm-notify at a time runs unless it is removed.
    public var pidFile = "/run/sm-notify.pid"
    /// Where the copies of the state directory for the second and later
    /// names go (each name notifies from a copy of its own).
    public var copies: String

    public init(_ node: NodeContext, copies: String? = nil) {
        self.node = node
        self.copies = copies ?? node.settings.runDirectory + "/notify"
    }

    /// Notifies as each of `names` (package names or addresses), from
    /// `stateDirectory` (the directory holding sm/, sm.bak/ and state).
    /// Returns the state directory each name notified from.
    public func send(as names: [String], stateDirectory: String, retryMinutes: Int, timeout: Double) throws -> [String] {
        guard !names.isEmpty else { throw PrimitiveError("sm_notify: no name to notify as") }
        var st = stat()
        guard lstat(stateDirectory + "/sm", &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw PrimitiveError("\(stateDirectory) has no sm directory")
        }
        // Every copy first: the first sm-notify moves the entries out of sm/.
        var directories = [stateDirectory]
        for name in names.dropFirst() { directories.append(try copy(stateDirectory, for: name, owner: st)) }
        var used: [String] = []
        for (name, directory) in zip(names, directories) {
            stopRunning(stateDirectory: directory)
            // A pid file left by an earlier or concurrent run makes sm-notify exit at once.
            node.effects.change("remove \(pidFile)") { _ = unlink(pidFile) }
            try node.run(
                ["sm-notify", "-f", "-m", String(retryMinutes), "-v", name, "-P", directory], timeout: timeout)
            used.append(directory)
        }
        return used
    }

    /// A copy of the state directory for one more name: its own sm/, an
    /// empty sm.bak/ and the state file, owned as the original.
    func copy(_ stateDirectory: String, for name: String, owner: stat) throws -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
        let directory = "\(copies)/\(safe)"
        try node.effects.change("copy \(stateDirectory)/sm to \(directory)/sm for notifying as \(name)") {
            try copyStateDirectory(stateDirectory, to: directory, owner: owner)
        }
        return directory
    }

    private func copyStateDirectory(_ stateDirectory: String, to directory: String, owner: stat) throws {
        try? FileManager.default.removeItem(atPath: directory)
        for sub in ["", "/sm", "/sm.bak"] {
            try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true)
            chown(directory + sub, owner.st_uid, owner.st_gid)
        }
        let sm = try StatusMonitor.open(stateDirectory + "/sm", "the SM directory")
        let target = try StatusMonitor.open(directory + "/sm", "the copy of the SM directory")
        for entry in try StatusMonitor.entries(in: sm).files {
            do {
                try StatusMonitor.copy(entry, from: sm, to: target)
            } catch {
                node.logger.warning("\(error)")
            }
        }
        // The NSM state number: four bytes, not an entry.
        let state = try StatusMonitor.open(stateDirectory, "the statd state directory")
        if let (bytes, st) = try? state.read("state", limit: 64) {
            let copyDirectory = try StatusMonitor.open(directory, "the copy of the statd state directory")
            try StatusMonitor.throwing { () throws(FileProblem) in try copyDirectory.write("state", bytes, like: st) }
        }
    }

    /// Ends the notifications still being sent for the package: from the
    /// state directory and from every copy. At stop, so that this node no
    /// longer speaks for a package that is leaving. Returns how many ended.
    @discardableResult
    public func stopAll(stateDirectory: String) -> Int {
        let copiesPrefix = copies + "/"
        let running = ProcessTable.matching { argv in
            (argv.first.map { $0.hasSuffix("sm-notify") } ?? false)
                && zip(argv, argv.dropFirst()).contains { $0 == "-P" && ($1 == stateDirectory || $1.hasPrefix(copiesPrefix)) }
        }
        if !running.isEmpty {
            node.effects.change("stop \(running.count) sm-notify still notifying for the package") {
                for pid in running { kill(pid, SIGTERM) }
                node.logger.info("stopped \(running.count) sm-notify still notifying for the package")
            }
        }
        return running.count
    }

    /// Ends any sm-notify still working from `stateDirectory`: it would keep
    /// the directory busy, and a new run would race with it.
    public func stopRunning(stateDirectory: String) {
        let running = ProcessTable.matching { argv in
            (argv.first.map { $0.hasSuffix("sm-notify") } ?? false)
                && zip(argv, argv.dropFirst()).contains { $0 == "-P" && $1 == stateDirectory }
        }
        for pid in running {
            node.effects.change("stop sm-notify (pid \(pid)) still working from \(stateDirectory)") {
                if kill(pid, SIGTERM) == 0 { node.logger.info("stopped sm-notify (pid \(pid)) still working from \(stateDirectory)") }
            }
        }
    }
}
