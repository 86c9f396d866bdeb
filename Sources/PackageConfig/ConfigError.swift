import Foundation
import SafeFiles

/// A configuration mistake: where it is, which attribute, what is wrong.
/// Printed as `pkg.conf:12: fs_directory: mount point must be an absolute path`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: Source
    public var attribute: String
    public var problem: String

    public init(_ source: Source, _ attribute: String, _ problem: String) {
        self.source = source
        self.attribute = attribute
        self.problem = problem
    }

    /// One line, with any control character (quoted from the file by Lua's
    /// own messages) shown escaped, never written raw to a terminal or log.
    public var description: String {
        (attribute.isEmpty ? "\(source): \(problem)" : "\(source): \(attribute): \(problem)").escapingControlCharacters
    }
}

/// Every mistake found in a file, not just the first.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Checks of single values, shared by every format.
enum Check {
    /// Characters a shell would act on: they have no place in a device, a
    /// path or an option, and are refused rather than passed on.
    static let shellMetacharacters = Set(";&|<>$`\\\"'(){}*?[]!~#\n\r\t ")
    /// The same, by UTF-8 byte (every one is ASCII): a table lookup per byte.
    static let shellMetacharacterBytes: [Bool] = (0..<256).map { byte in
        byte < 0x80 && shellMetacharacters.contains(Character(Unicode.Scalar(UInt8(byte))))
    }

    /// `U+0000`, for messages.
    static func codePoint(_ s: Unicode.Scalar) -> String {
        let hex = String(s.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Every text value from any format passes here first: no control
    /// character (a NUL would cut the C string a program receives short,
    /// so that "/\0srv" mounts on "/"), and Unicode normal form C. The kernel
    /// compares names byte by byte, so "é" written precomposed and written
    /// as "e" and a combining accent are two directories; hanfs compares
    /// what it checks the same way, and one spelling is required.
    static func text(_ value: String, _ attribute: String, _ source: Source, allowingTabs: Bool = false)
        throws(ConfigError) -> String
    {
        // Printable ASCII (nearly every value): no control character, and NFC already.
        if value.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || (allowingTabs && $0 == 0x09) }) { return value }
        if let bad = value.unicodeScalars.first(where: { $0.isControlCharacter && !(allowingTabs && $0 == "\t") }) {
            throw ConfigError(source, attribute, "a control character (\(codePoint(bad))) in the value: none belongs here")
        }
        let nfc = value.precomposedStringWithCanonicalMapping
        guard value.utf8.elementsEqual(nfc.utf8) else {
            throw ConfigError(
                source, attribute,
                "\"\(value)\" is not in Unicode normal form C: the kernel compares names byte by byte, so two spellings of "
                    + "one name are two different directories; write it precomposed (NFC)")
        }
        return value
    }

    /// A word with no shell metacharacters (a device, a path, an option word).
    static func word(_ value: String, _ attribute: String, _ source: Source, allowing: Set<Character> = [])
        throws(ConfigError) -> String
    {
        guard !value.isEmpty else { throw ConfigError(source, attribute, "empty value") }
        _ = try text(value, attribute, source)
        let allowedBytes = allowing.compactMap(\.asciiValue)
        if let byte = value.utf8.first(where: { shellMetacharacterBytes[Int($0)] && !allowedBytes.contains($0) }) {
            let bad = Character(Unicode.Scalar(byte))
            let shown = bad == " " ? "a space" : bad == "\n" ? "a newline" : bad == "\t" ? "a tab" : "'\(bad)'"
            throw ConfigError(source, attribute, "\"\(value)\" contains \(shown), a shell metacharacter; none belongs here")
        }
        return value
    }

    /// Several option words, split on white space, each checked.
    static func words(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> [String] {
        var words: [String] = []
        for w in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            words.append(try word(String(w), attribute, source))
        }
        return words
    }

    static func absolutePath(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        let path = try word(value, attribute, source)
        guard path.hasPrefix("/") else {
            throw ConfigError(source, attribute, "\"\(value)\" is not an absolute path")
        }
        let parts = path.utf8.split(separator: UInt8(ascii: "/"))
        guard !parts.contains(where: { $0.elementsEqual("..".utf8) }) else {
            throw ConfigError(source, attribute, "\"\(value)\" contains '..'")
        }
        // One spelling per path: no trailing or doubled slashes.
        let canonical = parts.reduce(0) { $0 + 1 + $1.count } == path.utf8.count
        return canonical && !parts.isEmpty ? path : "/" + path.split(separator: "/").joined(separator: "/")
    }

    static func integer(_ value: String, _ attribute: String, _ source: Source, minimum: Int = 0) throws(ConfigError) -> Int {
        guard let n = Int(value.trimmingSpaces), n >= minimum else {
            throw ConfigError(source, attribute, "\"\(value)\" is not a whole number of at least \(minimum)")
        }
        return n
    }

    static func seconds(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> Double {
        guard let n = Double(value.trimmingSpaces), n > 0, n.isFinite else {
            throw ConfigError(source, attribute, "\"\(value)\" is not a positive number of seconds")
        }
        return n
    }

    static func yesNo(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> Bool {
        switch value.trimmingSpaces.lowercased() {
        case "yes", "y", "true", "1", "on": return true
        case "no", "n", "false", "0", "off": return false
        default: throw ConfigError(source, attribute, "\"\(value)\": YES or NO expected")
        }
    }

    /// An LVM VG name: letters, digits and + _ . -, not starting with '-'.
    static func vgName(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-")
        let name = value.hasPrefix("/dev/") ? String(value.dropFirst(5)) : value
        guard !name.isEmpty, !name.hasPrefix("-"), name.allSatisfy(allowed.contains), name != ".", name != ".." else {
            throw ConfigError(source, attribute, "\"\(value)\" is not a volume group name")
        }
        return name
    }

    /// A package name: it names files under /run and /var/log.
    static func packageName(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard !value.isEmpty, value.count <= 39, !value.hasPrefix("."), !value.hasPrefix("-"),
            value.allSatisfy(allowed.contains)
        else {
            throw ConfigError(source, attribute, "\"\(value)\": letters, digits, '_', '.', '-' only, at most 39")
        }
        return value
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
