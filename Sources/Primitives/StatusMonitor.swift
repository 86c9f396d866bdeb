import Foundation
import SafeFiles

/// The NSM status monitor's directory: one file per client host that holds
/// locks (rpc.statd writes them), and the holding directory on the package's
/// storage that keeps a copy for the node that takes the package over.
/// Files are copied atomically (written aside, then renamed), with their
/// owner, mode and times; each directory is opened once and worked in
/// through its descriptor, so a symbolic link is never followed and a
/// directory swapped for another is not written to; only files with the
/// shape of an SM entry are copied.
public enum StatusMonitor {
    /// Where distributions keep it: Red Hat, then SLES and Debian.
    public static let knownDirectories = ["/var/lib/nfs/statd/sm", "/var/lib/nfs/sm"]

    /// Opens a directory hanfs works in (see SafeFiles' Directory): there, a
    /// directory, not a link; every entry is then reached through it.
    public static func open(_ path: String, _ what: String) throws -> Directory {
        do { return try Directory(path, what) } catch { throw PrimitiveError(error.problem + (error.problem.contains("missing") ? " (it is part of the package's configuration)" : "")) }
    }

    /// Checks a directory hanfs writes into: there, a directory, and not a link.
    public static func requireDirectory(_ path: String, _ what: String) throws {
        _ = try open(path, what)
    }

    /// The first of `candidates` that is a directory (not a link to one).
    public static func detectDirectory(_ candidates: [String] = knownDirectories) -> String? {
        candidates.first { path in
            var st = stat()
            return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        }
    }

    /// The most an SM entry can be: rpc.statd writes one line per entry,
    /// `addr prog vers proc priv mon_name my_name`, names of at most 1024 bytes.
    public static let entryLimit = 4096

    /// Whether `bytes` have the shape of an SM entry: lines of four 8-digit
    /// hex words, a 32-digit hex cookie and two names. Anything else (a
    /// file someone linked or copied into the directory: /etc/shadow) is
    /// not copied anywhere.
    public static func isEntry(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= entryLimit, let text = String(validating: bytes, as: UTF8.self) else { return false }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty, lines.count <= 16 else { return false }
        return lines.allSatisfy { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: false)
            guard words.count == 7 else { return false }
            let hex = { (w: Substring, n: Int) in w.utf8.count == n && w.allSatisfy(\.isHexDigit) }
            return words[0..<4].allSatisfy { hex($0, 8) } && hex(words[4], 32)
                && words[5...].allSatisfy { !$0.isEmpty && $0.utf8.count <= 1024 && !$0.contains { $0.isWhitespace || $0.asciiValue.map { $0 < 32 } == true } }
        }
    }

    /// The entries of a directory that are regular files, by name; the
    /// others (links, directories, devices) with why they were skipped.
    public static func entries(in directory: Directory) throws -> (files: [String], skipped: [(name: String, why: String)]) {
        var files: [String] = []
        var skipped: [(String, String)] = []
        for (name, st) in try throwing({ () throws(FileProblem) in try directory.entries() }) {
            switch st.st_mode & S_IFMT {
            case S_IFREG: files.append(name)
            case S_IFLNK: skipped.append((name, "a symbolic link"))
            case S_IFDIR: skipped.append((name, "a directory"))
            default: skipped.append((name, "not a regular file"))
            }
        }
        return (files, skipped)
    }

    /// Copies one SM entry between two opened directories: read without
    /// following a link, checked to be an SM entry, written beside the
    /// target with the source's owner, mode and times, then renamed over it.
    public static func copy(_ name: String, from source: Directory, to target: Directory) throws {
        let (bytes, st) = try throwing { () throws(FileProblem) in try source.read(name, limit: entryLimit) }
        guard isEntry(bytes) else {
            throw PrimitiveError("\(source.path)/\(name) is not an SM entry (not the shape rpc.statd writes): not copied")
        }
        try throwing { () throws(FileProblem) in try target.write(name, bytes, like: st) }
    }

    /// Runs a SafeFiles operation, its problem as a PrimitiveError.
    static func throwing<T>(_ body: () throws(FileProblem) -> T) throws -> T {
        do { return try body() } catch { throw PrimitiveError(error.problem) }
    }

    /// What `restore` did.
    public struct Restored: Sendable, Equatable {
        /// Copied into the SM directory.
        public var copied: [String] = []
        /// Left as they were: the SM directory's entry was newer.
        public var keptNewer: [String] = []
        /// Not regular files, or not SM entries: neither copied nor removed.
        public var skipped: [String] = []
    }

    /// Merges the holding directory's entries into the SM directory: an
    /// entry there that is newer than the held one stays; each held entry is
    /// removed once it is merged. Links, other non-files and files that are
    /// not SM entries are skipped, both as sources and as the SM
    /// directory's own entries.
    public static func restore(holding holdingPath: String, into smPath: String, effects: Effects = .live) throws -> Restored {
        let holding = try open(holdingPath, "the holding directory")
        let sm = try open(smPath, "the SM directory")
        var result = Restored()
        let (files, skipped) = try entries(in: holding)
        result.skipped = skipped.map(\.name)
        for name in files {
            guard let held = holding.status(name) else { continue }
            guard let bytes = try? holding.read(name, limit: entryLimit).0, isEntry(bytes) else {
                result.skipped.append(name)
                continue
            }
            let current = sm.status(name)
            let newer = current.map { c in
                (c.st_mode & S_IFMT) == S_IFREG
                    && (c.st_mtim.tv_sec, c.st_mtim.tv_nsec) > (held.st_mtim.tv_sec, held.st_mtim.tv_nsec)
            } ?? false
            if newer {
                result.keptNewer.append(name)
            } else {
                try effects.change("copy SM entry \(name) from \(holdingPath) into \(smPath)") { try copy(name, from: holding, to: sm) }
                result.copied.append(name)
            }
            try effects.change("remove \(holdingPath)/\(name)") { _ = try throwing { () throws(FileProblem) in try holding.remove(name) } }
        }
        return result
    }

    /// The holding-directory sync into `holding` (`hanfs flm`), known by its command line.
    public static func sync(holding: String, argv: [String] = []) -> BackgroundService {
        BackgroundService(name: "the sync into \(holding)", argv: argv) { argv in
            argv.count > 2 && argv[1] == "flm" && (argv[0] as NSString).lastPathComponent.hasPrefix("hanfs")
                && zip(argv, argv.dropFirst()).contains { $0 == "--holding" && $1 == holding }
        }
    }
}
