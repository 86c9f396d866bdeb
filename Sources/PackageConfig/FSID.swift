/// An export's fsid: what lets clients keep their file handles across a
/// failover, the same on every node. A number (0 is the NFSv4 root, as
/// `root` is), or a UUID.
public enum FSID: Sendable, Hashable, CustomStringConvertible {
    case root
    case number(UInt32)
    /// 32 hex digits, dashes where written; lower case.
    case uuid(String)

    /// `root`, a number from 0 to 2^32-1, or a UUID; nil for anything else.
    public init?(_ text: String) {
        if text == "root" {
            self = .root
        } else if let n = UInt32(text) {
            self = .number(n)
        } else {
            let hex = text.filter { $0 != "-" }
            guard hex.count == 32, hex.allSatisfy(\.isHexDigit) else { return nil }
            self = .uuid(text.lowercased())
        }
    }

    /// A number as a package file or a script gives it; nil out of range.
    public init?(_ number: Int) {
        guard let n = UInt32(exactly: number) else { return nil }
        self = .number(n)
    }

    /// As exportfs takes it (`fsid=...`).
    public var description: String {
        switch self {
        case .root: "root"
        case .number(let n): String(n)
        case .uuid(let u): u
        }
    }

    /// The number, for what needs one (NFS-Ganesha's Export_Id).
    public var number: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }
}
