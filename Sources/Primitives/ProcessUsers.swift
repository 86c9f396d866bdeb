import Foundation

/// A process that uses a file system, and how.
public struct ProcessUser: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var command: String
    /// What ties it to the file system: cwd, root, exe, fd 3, mmap.
    public var holds: [String]

    public var description: String { "\(pid) (\(command)) by \(holds.joined(separator: ", "))" }
}

/// Finds the processes using a mount by walking /proc: their cwd, root and
/// exe links, every open file descriptor, and their memory maps. Reading
/// links and maps never touches the file system itself, so a dead server
/// cannot hang it the way fuser or lsof can.
///
/// Only processes in hanfs's own mount namespace count: a path names a
/// file only within a mount namespace, and a process in another one (a
/// container, another node of a lab on the same kernel) that uses the same
/// path uses another mount, or another copy of this one, which does not
/// keep this mount busy. Signalling it would hit a bystander.
public enum ProcessUsers {
    /// The users of the file system mounted at `mountPoint` with device
    /// `device` (`major:minor`), or of anything below the mount point.
    public static func find(mountPoint: String, device: String?, proc: String = "/proc") -> [ProcessUser] {
        let me = getpid()
        let ourNamespace = readLink("\(proc)/self/ns/mnt")
        let prefix = mountPoint.hasSuffix("/") ? mountPoint : mountPoint + "/"
        let within = { (path: String) in path == mountPoint || path.hasPrefix(prefix) }
        let mapsDevice = device.flatMap(hexDevice)
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        var users: [ProcessUser] = []
        for name in pids {
            guard let pid = Int32(name), pid != me, pid > 1 else { continue }
            let dir = "\(proc)/\(name)"
            if let ourNamespace, let theirs = readLink("\(dir)/ns/mnt"), theirs != ourNamespace { continue }
            var holds: [String] = []
            for link in ["cwd", "root", "exe"] {
                if let target = readLink("\(dir)/\(link)"), within(strippedDeleted(target)) { holds.append(link) }
            }
            if let fds = try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/fd") {
                for fd in fds.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
                    if let target = readLink("\(dir)/fd/\(fd)"), within(strippedDeleted(target)) { holds.append("fd \(fd)") }
                }
            }
            if let maps = ProcFile.read("\(dir)/maps") {
                for line in maps.split(separator: "\n") {
                    let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                    guard f.count >= 6 else { continue }
                    let path = strippedDeleted(String(f[5]).trimmingCharacters(in: .whitespaces))
                    if within(path) || (mapsDevice != nil && String(f[3]) == mapsDevice && f[4] != "0") {
                        holds.append("mmap \(path)")
                        break
                    }
                }
            }
            if !holds.isEmpty {
                let comm = ProcFile.read("\(dir)/comm")?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                users.append(ProcessUser(pid: pid, command: comm, holds: holds))
            }
        }
        return users.sorted { $0.pid < $1.pid }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func strippedDeleted(_ path: String) -> String {
        path.hasSuffix(" (deleted)") ? String(path.dropLast(10)) : path
    }

    /// maps writes the device as hex `fe:01`; mountinfo as decimal `254:1`.
    static func hexDevice(_ decimal: String) -> String? {
        let p = decimal.split(separator: ":")
        guard p.count == 2, let a = Int(p[0]), let b = Int(p[1]) else { return nil }
        return String(format: "%02x:%02x", a, b)
    }
}

extension ProcessTable {
    /// The processes in the mount namespace bound to `file` (by `unshare --mount=FILE`).
    public static func inMountNamespace(boundTo file: String, proc: String = "/proc") -> [Int32] {
        var st = stat()
        guard stat(file, &st) == 0, st.st_ino != 0 else { return [] }
        let want = "mnt:[\(st.st_ino)]"
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []
        return pids.compactMap(Int32.init).filter { ProcessUsers.readLink("\(proc)/\($0)/ns/mnt") == want }
    }

    /// Whether the process has an inotify descriptor open: a watcher is watching.
    public static func isWatching(_ pid: Int32, proc: String = "/proc") -> Bool {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/\(pid)/fd")) ?? []
        return fds.contains { ProcessUsers.readLink("\(proc)/\(pid)/fd/\($0)") == "anon_inode:inotify" }
    }
}

/// Processes by their argument vector, read from /proc/<pid>/cmdline, and
/// only those in this process's network namespace: the daemons hanfs stops
/// (rpc.statd, sm-notify, its own senders) belong to one node, and another
/// namespace on the same kernel (a container, another test's node) is
/// another node. (`everyNetwork`: in any, for the lab, which sees all its hosts.)
public enum ProcessTable {
    public static func matching(_ predicate: ([String]) -> Bool, proc: String = "/proc", everyNetwork: Bool = false) -> [Int32] {
        let me = getpid()
        let network = everyNetwork ? nil : ProcessUsers.readLink("\(proc)/self/ns/net")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        return names.compactMap(Int32.init).filter { pid in
            guard pid != me, let raw = ProcFile.bytes("\(proc)/\(pid)/cmdline"), !raw.isEmpty,
                network == nil || ProcessUsers.readLink("\(proc)/\(pid)/ns/net") == network
            else { return false }
            return predicate(raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
                String(decoding: $0, as: UTF8.self)
            })
        }.sorted()
    }
}
