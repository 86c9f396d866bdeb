import Foundation

/// Export options: which exportfs knows, and how an XFS entry reads.
public enum ExportSpec {
    /// exportfs(8)/exports(5) options; `name=` ones take a value.
    static let flags: Set<String> = [
        "rw", "ro", "sync", "async", "secure", "insecure", "wdelay", "no_wdelay", "hide", "nohide",
        "crossmnt", "nocrossmnt", "subtree_check", "no_subtree_check", "insecure_locks", "secure_locks",
        "no_auth_nlm", "auth_nlm", "mp", "nordirplus", "pnfs", "no_pnfs", "security_label",
        "root_squash", "no_root_squash", "all_squash", "no_all_squash", "acl", "no_acl",
    ]
    static let valued: Set<String> = ["mountpoint", "mp", "fsid", "refer", "replicas", "anonuid", "anongid", "sec", "xprtsec"]

    /// Splits and checks an option string; returns the options without fsid, and the fsid.
    public static func options(_ text: String, _ attribute: String, _ source: Source) throws(ConfigError)
        -> (options: [String], fsid: String?)
    {
        var options: [String] = []
        var fsid: String?
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let option = String(raw)
            guard !option.isEmpty else { throw ConfigError(source, attribute, "empty option in \"\(text)\"") }
            _ = try Check.word(option, attribute, source, allowing: [":"])
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                guard valued.contains(parts[0]) else {
                    throw ConfigError(source, attribute, "unknown export option \"\(parts[0])=\"")
                }
                if parts[0] == "fsid" {
                    if fsid != nil { throw ConfigError(source, attribute, "fsid given twice") }
                    fsid = try checkedFSID(parts[1], attribute, source)
                    continue
                }
                if (parts[0] == "anonuid" || parts[0] == "anongid") && Int(parts[1]) == nil {
                    throw ConfigError(source, attribute, "\(parts[0]) takes a number, not \"\(parts[1])\"")
                }
            } else if !flags.contains(option) {
                throw ConfigError(source, attribute, "unknown export option \"\(option)\"")
            }
            options.append(option)
        }
        if options.contains("rw") && options.contains("ro") {
            throw ConfigError(source, attribute, "both rw and ro")
        }
        return (options, fsid)
    }

    /// An fsid: a number from 1 (0 or "root" is the NFSv4 root), or a UUID.
    static func checkedFSID(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        if value == "root" { return value }
        if let n = Int(value), n >= 0, n <= Int(UInt32.max) { return String(n) }
        let hex = value.filter { $0 != "-" }
        if hex.count == 32, hex.allSatisfy(\.isHexDigit) { return value.lowercased() }
        throw ConfigError(source, attribute, "fsid \"\(value)\" is neither a number nor a UUID")
    }

    /// One XFS entry, an exportfs argument string: `-o rw,fsid=101 *:/srv/a`.
    /// A path with no client is exported to everyone (`*`).
    public static func exports(fromArguments text: String, _ attribute: String, _ source: Source) throws(ConfigError)
        -> [Export]
    {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var optionText: String?
        var targets: [(String, String)] = []
        while !words.isEmpty {
            let w = words.removeFirst()
            if w == "-o" {
                guard !words.isEmpty else { throw ConfigError(source, attribute, "-o without options") }
                if optionText != nil { throw ConfigError(source, attribute, "-o given twice") }
                optionText = words.removeFirst()
            } else if w.hasPrefix("-o") {
                if optionText != nil { throw ConfigError(source, attribute, "-o given twice") }
                optionText = String(w.dropFirst(2))
            } else if w == "-i" || w == "-v" {
                continue  // exportfs flags that change nothing here
            } else if w.hasPrefix("-") {
                throw ConfigError(source, attribute, "exportfs flag \"\(w)\" is not supported here (only -o)")
            } else if w.hasPrefix("/") {
                targets.append(("*", w))
            } else if let colon = Self.lastClientColon(w) {
                targets.append((String(w[..<colon]), String(w[w.index(after: colon)...])))
            } else {
                throw ConfigError(source, attribute, "\"\(w)\" is neither an option nor client:/directory")
            }
        }
        guard !targets.isEmpty else { throw ConfigError(source, attribute, "no directory to export") }
        let (options, fsid) = try optionText.map { text throws(ConfigError) in try self.options(text, attribute, source) } ?? ([], nil)
        var result: [Export] = []
        for (client, directory) in targets {
            result.append(
                Export(
                    directory: try Check.absolutePath(directory, attribute, source),
                    clients: try clientSpec(client, attribute, source),
                    options: options, fsid: fsid ?? "", source: source))
        }
        return result
    }

    /// The colon of the last ":/" in `client:/directory`.
    static func lastClientColon(_ word: String) -> String.Index? {
        var i = word.utf8.endIndex
        while i > word.utf8.startIndex {
            let next = i
            word.utf8.formIndex(before: &i)
            if word.utf8[i] == UInt8(ascii: ":"), next < word.utf8.endIndex, word.utf8[next] == UInt8(ascii: "/") { return i }
        }
        return nil
    }

    /// A client spec: `*`, a host name, an address or network, `@netgroup`.
    public static func clientSpec(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        guard value != "*" else { return value }
        // exportfs would read "-v:/srv/a" as its options.
        guard !value.hasPrefix("-") else {
            throw ConfigError(source, attribute, "client \"\(value)\" begins with '-': a host, address, network or @netgroup expected")
        }
        return try Check.word(value, attribute, source, allowing: ["*", "?", "[", "]"])
    }
}

extension Character {
    var isHexDigit: Bool { "0123456789abcdefABCDEF".contains(self) }
}
