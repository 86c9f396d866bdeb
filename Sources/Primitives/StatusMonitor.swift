import Foundation

/// The NSM status monitor's directory: one file per client host that holds
/// locks (rpc.statd writes them), and the holding directory on the package's
/// storage that keeps a copy for the node that takes the package over.
/// Files are copied atomically (written aside, then renamed), with their
/// owner, mode and times, and a symbolic link is never followed, on either side.
public enum StatusMonitor {
    /// Where distributions keep it: Red Hat, then SLES and Debian.
    public static let knownDirectories = ["/var/lib/nfs/statd/sm", "/var/lib/nfs/sm"]

    /// A directory hanfs writes into: there, a directory, and not a link.
    public static func requireDirectory(_ path: String, _ what: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw PrimitiveError("\(what) \(path) is missing (it is part of the package's configuration)")
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return
        case S_IFLNK: throw PrimitiveError("\(what) \(path) is a symbolic link: it is not followed")
        default: throw PrimitiveError("\(what) \(path) is not a directory")
        }
    }

    /// The first of `candidates` that is a directory (not a link to one).
    public static func detectDirectory(_ candidates: [String] = knownDirectories) -> String? {
        candidates.first { path in
            var st = stat()
            return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        }
    }

    /// The entries of a directory that are regular files, by name; the
    /// others (links, directories, devices) with why they were skipped.
    public static func entries(in directory: String) throws -> (files: [String], skipped: [(name: String, why: String)]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw PrimitiveError("cannot read the directory \(directory)")
        }
        var files: [String] = []
        var skipped: [(String, String)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            var st = stat()
            guard lstat("\(directory)/\(name)", &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG: files.append(name)
            case S_IFLNK: skipped.append((name, "a symbolic link"))
            case S_IFDIR: skipped.append((name, "a directory"))
            default: skipped.append((name, "not a regular file"))
            }
        }
        return (files, skipped)
    }

    /// Copies one entry: read without following a link, written to a new
    /// file beside the target with the source's owner, mode and times, then
    /// renamed over it (which replaces a link rather than writing through it).
    public static func copy(_ name: String, from source: String, to target: String) throws {
        guard !name.contains("/"), name != ".", name != ".." else { throw PrimitiveError("\(name): not an entry name") }
        let fd = open("\(source)/\(name)", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw PrimitiveError("cannot open \(source)/\(name): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw PrimitiveError("\(source)/\(name) is not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw PrimitiveError("cannot read \(source)/\(name): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        let temporary = "\(target)/.\(name).hanfs-\(getpid())"
        let out = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0o7777)
        guard out >= 0 else { throw PrimitiveError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var ok = write(out, bytes, bytes.count) == bytes.count
        ok = ok && fchmod(out, st.st_mode & 0o7777) == 0 && fchown(out, st.st_uid, st.st_gid) == 0
        var times = [st.st_atim, st.st_mtim]
        ok = ok && futimens(out, &times) == 0
        let error = errno
        close(out)
        guard ok, rename(temporary, "\(target)/\(name)") == 0 else {
            unlink(temporary)
            throw PrimitiveError("cannot write \(target)/\(name): \(String(cString: strerror(ok ? errno : error)))")
        }
    }

    /// What `restore` did.
    public struct Restored: Sendable, Equatable {
        /// Copied into the SM directory.
        public var copied: [String] = []
        /// Left as they were: the SM directory's entry was newer.
        public var keptNewer: [String] = []
        /// Not regular files: neither copied nor removed.
        public var skipped: [String] = []
    }

    /// Merges the holding directory's entries into the SM directory: an
    /// entry there that is newer than the held one stays; each held entry is
    /// removed once it is merged. Links and other non-files are skipped,
    /// both as sources and as the SM directory's own entries.
    public static func restore(holding: String, into sm: String, planning: Bool = false) throws -> Restored {
        try requireDirectory(holding, "the holding directory")
        try requireDirectory(sm, "the SM directory")
        var result = Restored()
        let (files, skipped) = try entries(in: holding)
        result.skipped = skipped.map(\.name)
        for name in files {
            var held = stat()
            var current = stat()
            guard lstat("\(holding)/\(name)", &held) == 0 else { continue }
            let exists = lstat("\(sm)/\(name)", &current) == 0
            let newer = exists && (current.st_mode & S_IFMT) == S_IFREG
                && (current.st_mtim.tv_sec, current.st_mtim.tv_nsec) > (held.st_mtim.tv_sec, held.st_mtim.tv_nsec)
            if newer {
                result.keptNewer.append(name)
            } else {
                if !planning { try copy(name, from: holding, to: sm) }
                result.copied.append(name)
            }
            if !planning && unlink("\(holding)/\(name)") != 0 {
                throw PrimitiveError("cannot remove \(holding)/\(name): \(String(cString: strerror(errno)))")
            }
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
