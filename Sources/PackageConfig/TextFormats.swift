import Foundation
import SafeFiles

/// Reads a package file in either text format. The format is told by its
/// content: `NAME=value` lines are the legacy hanfs.conf style, anything
/// else is a Serviceguard modular package file.
public enum TextFormats {
    /// `controlScript`: a Serviceguard legacy package control script (shell),
    /// which is not read as a package file: `hanfs import` makes one of it.
    public enum Format: String, Sendable { case modular, legacy, controlScript }

    public static func load(_ path: String) throws(ConfigErrors) -> PackageConfiguration {
        try parse(lines: try readLines(path), file: path)
    }

    public static func format(of lines: [String]) -> Format {
        if ControlScript.isShell(lines) { return .controlScript }
        for line in lines {
            let t = line.trimmingSpaces
            if t.isEmpty || t.hasPrefix("#") { continue }
            return Legacy.assignment(t) != nil ? .legacy : .modular
        }
        return .modular
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> PackageConfiguration {
        try parse(lines: try SourceText.lines(Array(text.utf8), file: file), file: file)
    }

    static func parse(lines: [String], file: String) throws(ConfigErrors) -> PackageConfiguration {
        switch format(of: lines) {
        case .modular: return try Modular.parse(lines, file: file)
        case .legacy: return try Legacy.parse(lines, file: file)
        case .controlScript:
            let n = ControlScript.shellLine(lines) ?? 0
            throw ConfigErrors([ConfigError(
                Source(file: file, line: n + 1), "",
                "\(lines[n].trimmingSpaces.prefix(60)): shell (a function, a file sourced): this is a Serviceguard legacy package "
                    + "control script, not a package file; `hanfs import \(file)` makes a package file of its variables and hanfs.conf")])
        }
    }

    /// A value as written: bare, or in double or single quotes; then only a
    /// comment may follow. Returns nil and a reason when it is malformed.
    static func value(_ text: Substring) -> (String?, String?) {
        // Byte by byte: every character that matters here is ASCII, and a
        // UTF-8 sequence never holds an ASCII byte.
        let bytes = text.utf8
        let space = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") }
        var i = bytes.firstIndex { !space($0) } ?? bytes.endIndex
        guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else {
            let end = bytes[i...].firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
            let bare = bytes[i..<end]
            let last = bare.lastIndex { !space($0) }
            let trimmed = last.map { bare[...$0] } ?? bare[i..<i]
            if trimmed.contains(where: space) { return (nil, "a value with spaces must be quoted") }
            return (String(Substring(trimmed)), nil)
        }
        let q = bytes[i]
        bytes.formIndex(after: &i)
        var value: [UInt8] = []
        while i < bytes.endIndex {
            let b = bytes[i]
            bytes.formIndex(after: &i)
            if b == q {
                let after = bytes[i...].drop(while: space)
                guard after.isEmpty || after.first == UInt8(ascii: "#") else { return (nil, "text after the closing quote") }
                return (String(decoding: value, as: UTF8.self), nil)
            }
            if b == UInt8(ascii: "\\") && q == UInt8(ascii: "\""), i < bytes.endIndex {
                value.append(bytes[i])
                bytes.formIndex(after: &i)
                continue
            }
            value.append(b)
        }
        return (nil, "no closing quote")
    }

    /// `attribute value` lines: Serviceguard's modular package file.
    enum Modular {
        static func parse(_ lines: [String], file: String) throws(ConfigErrors) -> PackageConfiguration {
            var builder = ConfigBuilder(file: file, names: AttributeNames.modularName)
            // A new file system at each fs_name, a new address at each ip_address.
            var fsIndex = -1
            var ipIndex = -1
            var subnet: (String, Source)?
            let blank = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
            for (n, raw) in lines.enumerated() {
                let bytes = raw.utf8
                guard let start = bytes.firstIndex(where: { !blank($0) }), bytes[start] != UInt8(ascii: "#") else { continue }
                let at = Source(file: file, line: n + 1)
                let end = bytes[start...].firstIndex(where: blank) ?? bytes.endIndex
                let attribute = String(raw[start..<end])
                let (parsed, problem) = value(raw[end...])
                guard let field = AttributeNames.modularField(attribute) else {
                    builder.fail(ConfigError(at, attribute, "unknown attribute"))
                    continue
                }
                guard let value = parsed else {
                    if case .fsDevice = field { fsIndex += 1 }
                    if case .ipAddress = field { ipIndex += 1 }
                    builder.fail(
                        ConfigError(at, attribute, problem ?? "malformed value"), field: field,
                        index: max(field.isAddressField ? ipIndex : fsIndex, 0))
                    continue
                }
                switch field {
                case .fsDevice:
                    fsIndex += 1
                    builder.set(field, value, attribute: attribute, index: fsIndex, at: at)
                case .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions:
                    guard fsIndex >= 0 else {
                        builder.fail(ConfigError(at, attribute, "comes before any fs_name"))
                        continue
                    }
                    builder.set(field, value, attribute: attribute, index: fsIndex, at: at)
                case .ipSubnet:
                    subnet = (value, at)
                case .ipAddress:
                    ipIndex += 1
                    builder.set(field, value, attribute: attribute, index: ipIndex, at: at)
                    if let (s, sAt) = subnet {
                        builder.set(.ipSubnet, s, attribute: "ip_subnet", index: ipIndex, at: sAt)
                    }
                default:
                    builder.set(field, value, attribute: attribute, at: at)
                }
            }
            return try builder.finish()
        }
    }

    /// `NAME=value` and `NAME[i]=value` lines: the legacy hanfs.conf and
    /// control-script variables. Nothing is expanded: `$` or a backquote is
    /// an error, not a surprise.
    enum Legacy {
        /// The name, the index if any, and the text after `=`.
        static func assignment(_ line: String) -> (String, Int?, Substring)? {
            var rest = Substring(line)
            if rest.hasPrefix("export ") { rest = rest.dropFirst(7).drop { $0 == " " } }
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard let first = name.first, first.isLetter || first == "_" else { return nil }
            rest = rest.dropFirst(name.count)
            var index: Int?
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), let i = Int(rest[rest.index(after: rest.startIndex)..<close]),
                    i >= 0
                else { return nil }
                index = i
                rest = rest[rest.index(after: close)...]
            }
            guard rest.hasPrefix("=") else { return nil }
            return (String(name), index, rest.dropFirst())
        }

        static func parse(_ lines: [String], file: String) throws(ConfigErrors) -> PackageConfiguration {
            let entries = lines.enumerated().map { (line: $0.element, at: Source(file: file, line: $0.offset + 1)) }
            return try parse(entries, file: file)
        }

        /// Lines from one file or several (a control script's assignments and
        /// its hanfs.conf), each with where it is; `lenient`: a variable hanfs
        /// does not know, or a value it cannot take, is left out and said in
        /// `leftOut` rather than an error (`hanfs import`).
        static func parse(
            _ entries: [(line: String, at: Source)], file: String, lenient: Bool = false, leftOut: inout [String]
        ) throws(ConfigErrors) -> PackageConfiguration {
            var builder = ConfigBuilder(file: file, names: AttributeNames.legacyName)
            let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
            for (raw, at) in entries {
                let line = raw.trimmingSpaces
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let (name, index, rest) = assignment(line) else {
                    builder.fail(ConfigError(at, "", "not a variable assignment (NAME=value or NAME[n]=value)"))
                    continue
                }
                let attribute = index.map { "\(name)[\($0)]" } ?? name
                guard let field = AttributeNames.legacyField(name) else {
                    if lenient { leftOut.append("\(at): \(attribute): not hanfs's (left to the cluster manager, or not needed)") }
                    else { builder.fail(ConfigError(at, attribute, "unknown variable")) }
                    continue
                }
                let (parsed, problem) = value(rest)
                guard var value = parsed else {
                    builder.fail(ConfigError(at, attribute, problem ?? "malformed value"), field: field, index: index ?? 0)
                    continue
                }
                // The toolkit's template names its own scripts by the directory of
                // the script that reads it: the package's directory.
                value = value.replacingOccurrences(of: "${0%/*}", with: directory)
                if value.contains("$") || value.contains("`") {
                    let why = "\"\(value)\": shell expansion ($ or `) is not evaluated here"
                    if lenient { leftOut.append("\(at): \(attribute): \(why): set it by hand") }
                    else { builder.fail(ConfigError(at, attribute, why), field: field, index: index ?? 0) }
                    continue
                }
                builder.set(field, value, attribute: attribute, index: index ?? 0, at: at)
            }
            // Legacy packages are named by their directory (/etc/cmcluster/<pkg>/hanfs.conf).
            let name = URL(fileURLWithPath: directory).lastPathComponent
            return try builder.finish(defaultName: try? Check.packageName(name, "", Source(file: file, line: 0)))
        }

        static func parse(_ entries: [(line: String, at: Source)], file: String) throws(ConfigErrors) -> PackageConfiguration {
            var ignored: [String] = []
            return try parse(entries, file: file, lenient: false, leftOut: &ignored)
        }
    }
}

/// The lines of a package file as the parsers read them: split at LF, a
/// CR before it dropped (a file saved with CRLF line ends reads as written),
/// each line valid UTF-8 with no control character but the tab. A line that
/// is not is named, with what is wrong, and nothing of the file is used.
public enum SourceText {
    public static func lines(_ bytes: [UInt8], file: String) throws(ConfigErrors) -> [String] {
        var lines: [String] = []
        var errors: [ConfigError] = []
        for (n, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let at = Source(file: file, line: n + 1)
            let content = raw.last == 0x0D ? raw.dropLast() : raw
            guard let line = String(validating: content, as: UTF8.self) else {
                var iterator = content.makeIterator()
                var decoder = UTF8()
                var column = 1
                decoding: while case .scalarValue = decoder.decode(&iterator) { column += 1 }
                errors.append(ConfigError(at, "", "not valid UTF-8 (at character \(column)): a package file is UTF-8 text"))
                lines.append("")
                continue
            }
            // Printable ASCII and tabs (nearly every line) hold no control character.
            let plain = content.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }
            if !plain, let bad = line.unicodeScalars.first(where: { $0 != "\t" && $0.isControlCharacter }) {
                errors.append(ConfigError(at, "", "a control character (\(Check.codePoint(bad))) in the line: it has no place in a package file"))
                lines.append("")
                continue
            }
            lines.append(line)
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return lines
    }
}
