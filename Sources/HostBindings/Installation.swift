import Foundation

/// Where the control scripts and the Lua stdlib are: a site directory first
/// (default /etc/hanfs, holding a site's own copies in `scripts/` and
/// `stdlib/`), then the shipped ones next to the binary.
public struct Installation: Sendable, Equatable {
    /// The directory holding the shipped `scripts/` and `stdlib/`.
    public var shareDirectory: String
    /// The site directory, searched first.
    public var siteDirectory: String?

    public static let defaultSiteDirectory = "/etc/hanfs"

    public init(shareDirectory: String, siteDirectory: String? = Installation.defaultSiteDirectory) {
        self.shareDirectory = shareDirectory
        self.siteDirectory = siteDirectory
    }

    public var scriptDirectories: [String] { directories("scripts") }
    public var moduleDirectories: [String] { directories("stdlib") }

    private func directories(_ kind: String) -> [String] {
        (siteDirectory.map { ["\($0)/\(kind)"] } ?? []) + ["\(shareDirectory)/\(kind)"]
    }

    /// A script by path (anything with a slash or ending in .lua that exists),
    /// or by name (`start`, `start.lua`) in the site's scripts, then the shipped ones.
    public func findScript(_ nameOrPath: String) -> String? {
        let fm = FileManager.default
        if nameOrPath.contains("/") { return fm.fileExists(atPath: nameOrPath) ? nameOrPath : nil }
        let file = nameOrPath.hasSuffix(".lua") ? nameOrPath : nameOrPath + ".lua"
        for dir in scriptDirectories where fm.fileExists(atPath: "\(dir)/\(file)") {
            return "\(dir)/\(file)"
        }
        return fm.fileExists(atPath: nameOrPath) ? nameOrPath : nil
    }

    /// The installation the running binary belongs to: $HANFS_HOME if set;
    /// else `<prefix>/share/hanfs` for a binary in `<prefix>/bin`; else, for a
    /// binary built in a checkout (`.build/...`), the checkout itself.
    public static func locate(
        executable: String = Installation.executablePath(), environment: [String: String]
    ) -> Installation {
        let site = environment["HANFS_SITE_DIR"] ?? defaultSiteDirectory
        if let home = environment["HANFS_HOME"], !home.isEmpty {
            return Installation(shareDirectory: home, siteDirectory: site)
        }
        let fm = FileManager.default
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = dir.deletingLastPathComponent().appendingPathComponent("share/hanfs")
        if fm.fileExists(atPath: installed.appendingPathComponent("stdlib").path) {
            return Installation(shareDirectory: installed.path, siteDirectory: site)
        }
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                fm.fileExists(atPath: dir.appendingPathComponent("stdlib").path)
            {
                return Installation(shareDirectory: dir.path, siteDirectory: site)
            }
            dir.deleteLastPathComponent()
        }
        return Installation(shareDirectory: installed.path, siteDirectory: site)
    }

    public static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    }
}

/// A site's copy of a shipped script or module (`/etc/hanfs/scripts/start.lua`
/// over the shipped `scripts/start.lua`), and whether the shipped one has
/// changed since it was copied: an upgrade replaces the shipped files and
/// leaves the site's copies as they were, which `hanfs run doctor` says.
public struct SiteCopy: Sendable, Equatable {
    /// `scripts/start.lua`, `stdlib/plan.lua`.
    public let file: String
    public let sitePath: String
    public let shippedPath: String
    /// What its first line records of the shipped file it was copied from
    /// (`hanfs customize` writes it); nil: not recorded.
    public let copiedFrom: (version: String, digest: String)?
    public let shippedDigest: String

    public enum State: String, Sendable { case current, behind, unrecorded }

    public var state: State {
        guard let copiedFrom else { return .unrecorded }
        return copiedFrom.digest == shippedDigest ? .current : .behind
    }

    public static func == (a: SiteCopy, b: SiteCopy) -> Bool {
        a.file == b.file && a.sitePath == b.sitePath && a.copiedFrom?.digest == b.copiedFrom?.digest
    }
}

extension Installation {
    /// The first line of a copy `hanfs customize` makes.
    static let copyRecord = "-- hanfs: copied from "

    /// A file's content digest (FNV-1a, 64 bits): to tell a changed file, not to withstand an adversary.
    public static func digest(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    /// Each file of the site directory that stands in for a shipped one.
    public func siteCopies() -> [SiteCopy] {
        guard let site = siteDirectory else { return [] }
        let fm = FileManager.default
        var copies: [SiteCopy] = []
        for kind in ["scripts", "stdlib"] {
            let names = ((try? fm.contentsOfDirectory(atPath: "\(site)/\(kind)")) ?? []).filter { $0.hasSuffix(".lua") }.sorted()
            for name in names {
                let shipped = "\(shareDirectory)/\(kind)/\(name)"
                guard let original = fm.contents(atPath: shipped) else { continue }
                let copy = "\(site)/\(kind)/\(name)"
                let first = (fm.contents(atPath: copy).map { String(decoding: $0.prefix(300), as: UTF8.self) } ?? "")
                    .split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
                copies.append(SiteCopy(
                    file: "\(kind)/\(name)", sitePath: copy, shippedPath: shipped, copiedFrom: Self.record(first),
                    shippedDigest: Self.digest(Array(original))))
            }
        }
        return copies
    }

    /// `-- hanfs: copied from scripts/start.lua of hanfs 0.1.0 (digest 0123456789abcdef)...`
    static func record(_ line: String) -> (version: String, digest: String)? {
        guard line.hasPrefix(copyRecord), let of = line.range(of: " of hanfs "), let open = line.range(of: " (digest "),
            of.upperBound <= open.lowerBound
        else { return nil }
        let digest = line[open.upperBound...].prefix { $0.isHexDigit }
        guard digest.count == 16 else { return nil }
        return (String(line[of.upperBound..<open.lowerBound]), String(digest))
    }

    /// Copies a shipped script or module into the site directory, to be
    /// changed there, its first line recording what it was copied from.
    /// `name`: `start`, `scripts/start.lua`, `plan`, `stdlib/plan.lua`.
    /// Returns the copy's path; refuses to replace a copy.
    public func customize(_ name: String, version: String) throws -> String {
        guard let site = siteDirectory else { throw InstallationError("no site directory") }
        let base = name.hasSuffix(".lua") ? name : name + ".lua"
        let candidates = base.contains("/") ? [base] : ["scripts/\(base)", "stdlib/\(base)"]
        guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: "\(shareDirectory)/\($0)") }),
            !file.contains(".."), let original = FileManager.default.contents(atPath: "\(shareDirectory)/\(file)")
        else {
            throw InstallationError("\(name): no shipped script or module of that name in \(shareDirectory)/scripts or stdlib")
        }
        let copy = "\(site)/\(file)"
        let directory = (copy as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let record = "\(Self.copyRecord)\(file) of hanfs \(version) (digest \(Self.digest(Array(original)))): "
            + "`hanfs run doctor` says when the shipped one changes\n"
        let fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw InstallationError("\(copy): \(errno == EEXIST ? "the site has a copy already: change it, or remove it first" : String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(record.utf8) + Array(original)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw InstallationError("\(copy): \(String(cString: strerror(errno)))") }
        return copy
    }
}

/// Why a site copy could not be made.
public struct InstallationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
