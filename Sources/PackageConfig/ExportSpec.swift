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

    /// Every option exportfs takes, by name.
    public static var optionNames: Set<String> { flags.union(valued) }

    /// The security flavors `sec=` takes (a colon separated list).
    public static let securityFlavors = ["sys", "krb5", "krb5i", "krb5p"]

    /// What an export option is under NFS-Ganesha: one of its own settings
    /// (the EXPORT block says it), what it does anyway, or refused at
    /// validation with the reason. Every option exportfs takes is here.
    public enum UnderGanesha: Sendable, Equatable {
        case setting
        case already(String)
        case refused(String)
    }

    public static let underGanesha: [String: UnderGanesha] = [
        "rw": .setting, "ro": .setting, "root_squash": .setting, "no_root_squash": .setting, "all_squash": .setting,
        "anonuid": .setting, "anongid": .setting, "sec": .setting, "secure": .setting, "insecure": .setting,
        "acl": .setting, "no_acl": .setting,
        "no_all_squash": .already("squashes no one but root unless all_squash"),
        "sync": .already("commits what a client asks to be stable before it answers"),
        "async": .already("commits what a client asks to be stable before it answers (safer than async)"),
        "wdelay": .already("gathers no writes"), "no_wdelay": .already("gathers no writes"),
        "no_subtree_check": .already("checks no subtrees"),
        "hide": .already("never shows a file system mounted below an export"),
        "nocrossmnt": .already("never crosses into a file system mounted below an export"),
        "secure_locks": .already("takes lock requests only from the export's clients"),
        "auth_nlm": .already("takes lock requests only from the export's clients"),
        "mountpoint": .already("serves only once hanfs has mounted the package's file systems"),
        "mp": .already("serves only once hanfs has mounted the package's file systems"),
        "no_pnfs": .already("serves no pNFS layouts"),
        "subtree_check": .refused("NFS-Ganesha has no subtree checking: export a file system's top, or use no_subtree_check"),
        "nohide": .refused("NFS-Ganesha does not show a file system mounted below an export: export each one"),
        "crossmnt": .refused("NFS-Ganesha does not cross into a file system mounted below an export: export each one"),
        "insecure_locks": .refused("NFS-Ganesha checks every lock request: remove it"),
        "no_auth_nlm": .refused("NFS-Ganesha checks every lock request: remove it"),
        "nordirplus": .refused("NFS-Ganesha always answers READDIRPLUS"),
        "pnfs": .refused("hanfs does not configure pNFS in NFS-Ganesha"),
        "security_label": .refused("NFS-Ganesha's VFS exports no security labels"),
        "refer": .refused("hanfs does not configure NFSv4 referrals in NFS-Ganesha"),
        "replicas": .refused("hanfs does not configure NFSv4 replicas in NFS-Ganesha"),
        "xprtsec": .refused("NFS-Ganesha has no RPC-with-TLS: use sec=krb5p for encryption"),
    ]

    /// The option's name: `sec` of `sec=krb5p`.
    public static func name(_ option: String) -> String { String(option.prefix { $0 != "=" }) }

    /// Splits and checks an option string; returns the options without fsid, and the fsid.
    public static func options(_ text: String, _ attribute: String, _ source: Source) throws(ConfigError)
        -> (options: [String], fsid: FSID?)
    {
        var options: [String] = []
        var fsid: FSID?
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
                if parts[0] == "sec",
                    let bad = parts[1].split(separator: ":", omittingEmptySubsequences: false).first(where: { !securityFlavors.contains(String($0)) })
                {
                    throw ConfigError(source, attribute, "sec: unknown security flavor \"\(bad)\" (\(securityFlavors.joined(separator: ", ")))")
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

    /// An fsid: a number (0 or "root" is the NFSv4 root), or a UUID.
    static func checkedFSID(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> FSID {
        guard let fsid = FSID(value) else {
            throw ConfigError(source, attribute, "fsid \"\(value)\" is neither a number nor a UUID")
        }
        return fsid
    }

    /// One export as the native format declares it: each part checked as
    /// an XFS entry's is, the fsid as given (a number, or text).
    public static func export(
        directory: String, clients: String, options: String?, fsid: RawValue?, _ attribute: String, _ source: Source
    ) throws(ConfigError) -> Export {
        var id: FSID?
        switch fsid {
        case .none: id = nil
        case .integer(let n)?:
            guard let f = FSID(n) else { throw ConfigError(source, attribute + ".fsid", "fsid \(n) is out of range (0 to 4294967295)") }
            id = f
        case .text(let t)?: id = try checkedFSID(t, attribute + ".fsid", source)
        case let other?: throw ConfigError(source, attribute + ".fsid", "\(other.shown): a number or a UUID expected")
        }
        let (list, inline) = try options.map { text throws(ConfigError) in try self.options(text, attribute + ".options", source) } ?? ([], nil)
        if inline != nil && id != nil { throw ConfigError(source, attribute, "fsid given twice (in options and as fsid)") }
        return Export(
            directory: try Check.absolutePath(directory, attribute + ".directory", source),
            clients: try clientSpec(clients, attribute + ".clients", source), options: list, fsid: id ?? inline, source: source)
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
                    options: options, fsid: fsid, source: source))
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
