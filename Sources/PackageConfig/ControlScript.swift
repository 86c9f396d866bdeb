import Foundation
import SafeFiles

/// A Serviceguard legacy package control script (`pkg.cntl`): a bash script
/// whose variable assignments (`VG[0]=vg01`, `IP[0]=...`) declare the
/// package, with the site's commands in `customer_defined_run_cmds` and
/// `customer_defined_halt_cmds`, and shell besides (`. ${SGCONFFILE}`).
/// hanfs never runs it: `hanfs import` takes the assignments, reports the
/// two functions' commands (or makes site hooks of them), and leaves the
/// rest of the shell alone.
public struct ControlScript: Sendable {
    /// The assignments outside any function, with where each is.
    public var assignments: [(line: String, at: Source)] = []
    /// Each function's body lines, by name, in order.
    public var functions: [(name: String, body: [(line: String, at: Source)])] = []
    /// The other shell lines outside any function (sourcing, tests, ...).
    public var otherShell: [(line: String, at: Source)] = []

    /// The shell's braces, named (a brace in a literal would read as code to the tools that count them).
    static let brace: Character = "\u{7B}", closingBrace: Character = "\u{7D}"

    /// Whether these lines are a shell script rather than a package file: a
    /// function, or a file sourced.
    public static func isShell(_ lines: [String]) -> Bool { shellLine(lines) != nil }

    /// The first line that makes it shell (0-based).
    static func shellLine(_ lines: [String]) -> Int? {
        lines.firstIndex { functionName($0.trimmingSpaces) != nil || sources($0.trimmingSpaces) }
    }

    static func sources(_ line: String) -> Bool { line.hasPrefix(". ") || line.hasPrefix("source ") }

    /// `function name`, `function name {`, `name()`, `name() {`.
    static func functionName(_ line: String) -> String? {
        var rest = Substring(line)
        let keyword = rest.hasPrefix("function ")
        if keyword { rest = rest.dropFirst("function ".count).drop { $0 == " " } }
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard let first = name.first, first.isLetter || first == "_" else { return nil }
        let after = rest.dropFirst(name.count).drop { $0 == " " }
        if keyword && (after.isEmpty || after.first == Self.brace || after.hasPrefix("()")) { return String(name) }
        return after.hasPrefix("()") ? String(name) : nil
    }

    public init(lines: [String], file: String) {
        var depth = 0
        var inside: Int?  // the function whose body is being read
        var declared: Int?  // a function named, its `{` on a line to come
        for (n, raw) in lines.enumerated() {
            let at = Source(file: file, line: n + 1)
            let trimmed = raw.trimmingSpaces
            let code = trimmed.hasPrefix("#") ? "" : trimmed
            let balance = code.filter { $0 == Self.brace }.count - code.filter { $0 == Self.closingBrace }.count
            if let f = inside {
                depth += balance
                if depth <= 0 { inside = nil; depth = 0 } else { functions[f].body.append((raw, at)) }
                continue
            }
            if let f = declared {
                if code.isEmpty { continue }
                declared = nil
                if code.first == Self.brace {
                    depth = balance
                    if depth > 0 { inside = f }
                    continue
                }
            }
            if let name = Self.functionName(code) {
                functions.append((name, []))
                if code.contains(Self.brace) {
                    depth = balance
                    if depth > 0 { inside = functions.count - 1 }
                } else {
                    declared = functions.count - 1
                }
            } else {
                // `A=1; B=2`: each statement on its own.
                for statement in Self.statements(code) {
                    if TextFormats.Legacy.assignment(statement) != nil { assignments.append((statement, at)) }
                    else { otherShell.append((statement, at)) }
                }
            }
        }
    }

    /// A line's statements, split at each `;` outside quotes.
    static func statements(_ line: String) -> [String] {
        var out: [String] = [], current = "", quote: Character?
        for ch in line {
            if let q = quote { if ch == q { quote = nil } } else if ch == "\"" || ch == "'" { quote = ch } else if ch == ";" {
                out.append(current.trimmingSpaces)
                current = ""
                continue
            }
            current.append(ch)
        }
        out.append(current.trimmingSpaces)
        return out.filter { !$0.isEmpty }
    }

    /// A function's body.
    public func body(_ name: String) -> [(line: String, at: Source)] { functions.first { $0.name == name }?.body ?? [] }
}

extension TextFormats {
    /// A Serviceguard package as a site has it, read for `hanfs import`: a
    /// modular package file; a legacy hanfs.conf; or a legacy control script
    /// with the hanfs.conf beside it (or `toolkitConf`). What hanfs takes is
    /// the package; what it does not is said in `leftOut`, never dropped.
    public struct Imported: Sendable {
        public var config: PackageConfiguration
        public var format: Format
        /// Each thing not carried over, with where it is and why.
        public var leftOut: [String] = []
        /// The nodes the package ran on, in order (node_name), where given.
        public var nodes: [String] = []
        /// Serviceguard's own settings a cluster manager's configuration can take (run_script_timeout, ...).
        public var clusterSettings: [String: String] = [:]
        /// The control script's customer_defined_run_cmds and _halt_cmds.
        public var runCommands: [(line: String, at: Source)] = []
        public var haltCommands: [(line: String, at: Source)] = []
    }

    public static func importPackage(_ path: String, toolkitConf: String? = nil) throws(ConfigErrors) -> Imported {
        let lines = try readLines(path)
        switch format(of: lines) {
        case .modular:
            var imported = Imported(config: try Modular.parse(lines, file: path), format: .modular)
            for (n, raw) in lines.enumerated() {
                let t = raw.trimmingSpaces
                guard !t.isEmpty, !t.hasPrefix("#") else { continue }
                let attribute = String(t.prefix { $0 != " " && $0 != "\t" })
                guard AttributeNames.modularField(attribute) == .ignored else { continue }
                let value = (TextFormats.value(t.dropFirst(attribute.count)).0 ?? "")
                switch attribute {
                case "node_name": if value != "*" { imported.nodes.append(value) }
                case "run_script_timeout", "halt_script_timeout", "failover_policy", "failback_policy", "auto_run":
                    imported.clusterSettings[attribute] = value
                case "package_type", "module_name", "module_version", "package_description": break
                default:
                    imported.leftOut.append("\(path):\(n + 1): \(attribute) \(value): Serviceguard's own; configure its like in the cluster manager")
                }
            }
            return imported
        case .legacy:
            var leftOut: [String] = []
            let entries = lines.enumerated().map { (line: $0.element, at: Source(file: path, line: $0.offset + 1)) }
            let config = try Legacy.parse(entries, file: path, lenient: true, leftOut: &leftOut)
            return Imported(config: config, format: .legacy, leftOut: leftOut)
        case .controlScript:
            let script = ControlScript(lines: lines, file: path)
            let beside = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("hanfs.conf").path
            let conf = toolkitConf ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil)
            var entries: [(line: String, at: Source)] = []
            if let conf {
                entries = try readLines(conf).enumerated().map { (line: $0.element, at: Source(file: conf, line: $0.offset + 1)) }
            }
            var leftOut: [String] = []
            let config = try Legacy.parse(entries + script.assignments, file: conf ?? path, lenient: true, leftOut: &leftOut)
            var imported = Imported(config: config, format: .controlScript, leftOut: leftOut)
            imported.runCommands = script.body("customer_defined_run_cmds")
            imported.haltCommands = script.body("customer_defined_halt_cmds")
            for f in script.functions where !f.name.hasPrefix("customer_defined_") {
                imported.leftOut.append("\(path): function \(f.name): shell of the control script's own, left alone")
            }
            if !script.otherShell.isEmpty {
                imported.leftOut.append("\(path): \(script.otherShell.count) line(s) of shell outside the functions (from line "
                    + "\(script.otherShell[0].at.line): \(script.otherShell[0].line)): the control script's own, left alone")
            }
            return imported
        }
    }

    static func readLines(_ path: String) throws(ConfigErrors) -> [String] {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path)
        } catch {
            throw ConfigErrors([ConfigError(Source(file: path, line: 0), "", error.problem)])
        }
        return try SourceText.lines(bytes, file: path)
    }
}
