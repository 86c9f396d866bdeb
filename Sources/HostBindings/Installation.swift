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
