import Glibc

/// A directory hanfs works in as root while others can change it: the SM
/// directory (its parent is writable by the statd user on some systems),
/// the holding directory (on an exported file system, where NFS clients
/// write). It is opened once, never through a symbolic link, and every
/// entry is reached relative to that descriptor (openat, fstatat,
/// renameat, unlinkat), so swapping the path for a link to /etc afterwards
/// changes nothing: the work stays in the directory that was opened.
/// `isStillAtPath` tells whether the path still names it, for a long-running
/// user (the sync) that must stop when it was replaced.
public final class Directory {
    public let path: String
    public let fd: Int32
    private let device: UInt
    private let inode: UInt

    /// Opens `path` as a directory; a symbolic link, a missing path or
    /// another kind of file is refused, named as `what`.
    public init(_ path: String, _ what: String) throws(FileProblem) {
        guard !path.utf8.contains(0) else { throw FileProblem("\(what): the path contains a NUL byte") }
        self.path = path
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            var st = stat()
            if lstat(path, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFLNK { throw FileProblem("\(what) \(path) is a symbolic link: it is not followed") }
                if (st.st_mode & S_IFMT) != S_IFDIR { throw FileProblem("\(what) \(path) is not a directory") }
            }
            if code == ENOENT { throw FileProblem("\(what) \(path) is missing") }
            throw FileProblem("\(what) \(path): \(RegularFile.errnoText(code))")
        }
        var st = stat()
        fstat(fd, &st)
        self.fd = fd
        device = UInt(st.st_dev)
        inode = UInt(st.st_ino)
    }

    /// Takes an already opened directory descriptor.
    init(adopting fd: Int32, path: String) {
        self.path = path
        self.fd = fd
        var st = stat()
        fstat(fd, &st)
        device = UInt(st.st_dev)
        inode = UInt(st.st_ino)
    }

    deinit { close(fd) }

    /// Whether `path` still names the directory that was opened (not a
    /// link, not another directory moved into its place).
    public var isStillAtPath: Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && UInt(st.st_dev) == device
            && UInt(st.st_ino) == inode
    }

    /// An entry name: one component, not hidden (hanfs's temporary files
    /// and the distributions' own start with a dot).
    public static func isEntryName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.hasPrefix(".") && !name.utf8.contains(0)
    }

    /// The entries, by name, with what lstat says of each; hidden ones left out.
    public func entries() throws(FileProblem) -> [(name: String, stat: stat)] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw FileProblem("cannot read the directory \(path): \(RegularFile.errnoText(errno))")
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var result: [(String, stat)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard Self.isEntryName(name), let st = status(name) else { continue }
            result.append((name, st))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// lstat of an entry, relative to the directory; nil if it is not there.
    public func status(_ name: String) -> stat? {
        var st = stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// An entry's bytes and status: a regular file (never through a link)
    /// of at most `limit` bytes.
    public func read(_ name: String, limit: Int) throws(FileProblem) -> ([UInt8], stat) {
        guard Self.isEntryName(name) else { throw FileProblem("\(name): not an entry name") }
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard file >= 0 else { throw FileProblem("cannot open \(path)/\(name): \(RegularFile.errnoText(errno))") }
        defer { close(file) }
        var st = stat()
        guard fstat(file, &st) == 0 else { throw FileProblem("\(path)/\(name): \(RegularFile.errnoText(errno))") }
        if let kind = RegularFile.kind(st.st_mode) { throw FileProblem("\(path)/\(name) is \(kind), not a regular file") }
        guard Int(st.st_size) <= limit else {
            throw FileProblem("\(path)/\(name) is \(st.st_size) bytes, more than \(limit)")
        }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress! + count, limit + 1 - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw FileProblem("cannot read \(path)/\(name): \(RegularFile.errnoText(errno))") }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { throw FileProblem("\(path)/\(name) grew past \(limit) bytes while being read") }
        return (Array(bytes[0..<count]), st)
    }

    /// Writes an entry whole: a new file beside it (never through a link),
    /// with `like`'s owner, mode and times, renamed over the old one within
    /// this directory.
    public func write(_ name: String, _ bytes: [UInt8], like st: stat) throws(FileProblem) {
        guard Self.isEntryName(name) else { throw FileProblem("\(name): not an entry name") }
        // A file planted under the temporary name (a hard link to /etc/shadow)
        // is unlinked, never opened: O_EXCL makes a new file or fails.
        let temporary = ".\(name).hanfs-\(getpid())"
        unlinkat(fd, temporary, 0)
        let out = openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0o7777)
        guard out >= 0 else { throw FileProblem("cannot create \(path)/\(temporary): \(RegularFile.errnoText(errno))") }
        var ok = Glibc.write(out, bytes, bytes.count) == bytes.count
        ok = ok && fchmod(out, st.st_mode & 0o7777) == 0 && fchown(out, st.st_uid, st.st_gid) == 0
        var times = [st.st_atim, st.st_mtim]
        ok = ok && futimens(out, &times) == 0
        let error = errno
        close(out)
        guard ok, renameat(fd, temporary, fd, name) == 0 else {
            let code = ok ? errno : error
            unlinkat(fd, temporary, 0)
            throw FileProblem("cannot write \(path)/\(name): \(RegularFile.errnoText(code))")
        }
    }

    /// Removes an entry if it is a regular file; returns whether it did.
    @discardableResult
    public func remove(_ name: String) throws(FileProblem) -> Bool {
        guard Self.isEntryName(name), let st = status(name), (st.st_mode & S_IFMT) == S_IFREG else { return false }
        guard unlinkat(fd, name, 0) == 0 else {
            if errno == ENOENT { return false }
            throw FileProblem("cannot remove \(path)/\(name): \(RegularFile.errnoText(errno))")
        }
        return true
    }
}

/// Paths hanfs hands to the kernel by name (a mount point, an exported
/// directory): `mount` and `exportfs` follow symbolic links, so a link on
/// the way (made by an NFS client inside a package file system above it)
/// would move the mount or the export elsewhere: /etc.
public enum LinkFreePath {
    /// Throws when a component of `path` that exists is a symbolic link
    /// or not a directory; components not there yet are fine (they are made).
    public static func check(_ path: String, _ what: String) throws(FileProblem) {
        guard path.hasPrefix("/") else { throw FileProblem("\(what) \(path) is not an absolute path") }
        guard !path.utf8.contains(0) else { throw FileProblem("\(what): the path contains a NUL byte") }
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var st = stat()
            guard lstat(prefix, &st) == 0 else { return }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFLNK:
                throw FileProblem("\(what) \(path): \(prefix) is a symbolic link, which hanfs does not follow here")
            default: throw FileProblem("\(what) \(path): \(prefix) is not a directory")
            }
        }
    }
}

extension Directory {
    /// Makes `relative` (components separated by "/") below this directory,
    /// each component made or opened relative to the one before without
    /// following a link; returns the last. A link in the way is an error.
    public func subdirectory(_ relative: String, mode: mode_t = 0o755) throws(FileProblem) -> Directory {
        var current = self
        for component in relative.split(separator: "/").map(String.init) {
            guard !component.isEmpty, component != ".", component != ".." else {
                throw FileProblem("\(relative): not a plain relative path")
            }
            if mkdirat(current.fd, component, mode) != 0 && errno != EEXIST {
                throw FileProblem("cannot make \(current.path)/\(component): \(RegularFile.errnoText(errno))")
            }
            let fd = openat(current.fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                throw FileProblem(code == ELOOP || code == ENOTDIR
                    ? "\(current.path)/\(component) is a symbolic link or not a directory: it is not followed"
                    : "cannot open \(current.path)/\(component): \(RegularFile.errnoText(code))")
            }
            current = Directory(adopting: fd, path: current.path + "/" + component)
        }
        return current
    }
}
