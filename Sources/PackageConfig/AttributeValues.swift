/// A value as a format gives it: text from the text formats; a typed value
/// from the native Lua format, read as it is (never turned into text first).
public enum RawValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)

    /// How a message shows it.
    var shown: String {
        switch self {
        case .text(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .boolean(let b): String(b)
        }
    }

    /// What kind of value it is, for messages.
    var typeName: String {
        switch self {
        case .text: "a string"
        case .integer, .number: "a number"
        case .boolean: "a boolean"
        }
    }
}

/// A value read by its attribute's kind, ready for the model.
enum AttributeValue {
    case text(String)
    case integer(Int)
    case number(Double)
    case flag(Bool)
    case words([String])
    case exports([Export])
    case address(IPAddress, Int?)
    case subnet(Subnet)

    // The kind decides the case: each accessor is used only for its own.
    var text: String { if case .text(let v) = self { v } else { preconditionFailure("\(self) read as text") } }
    var integer: Int { if case .integer(let v) = self { v } else { preconditionFailure("\(self) read as an integer") } }
    var number: Double { if case .number(let v) = self { v } else { preconditionFailure("\(self) read as a number") } }
    var flag: Bool { if case .flag(let v) = self { v } else { preconditionFailure("\(self) read as a flag") } }
    var words: [String] { if case .words(let v) = self { v } else { preconditionFailure("\(self) read as words") } }
    var exports: [Export] { if case .exports(let v) = self { v } else { preconditionFailure("\(self) read as exports") } }
    var address: (IPAddress, Int?)? { if case .address(let a, let p) = self { (a, p) } else { nil } }
    var subnet: Subnet? { if case .subnet(let v) = self { v } else { nil } }
}

extension AttributeKind {
    /// Reads a value as this kind of attribute takes it; a wrong one is an
    /// error naming the attribute and what was expected.
    func read(_ raw: RawValue, _ a: String, _ s: Source) throws(ConfigError) -> AttributeValue {
        switch (self, raw) {
        case (.integer(let minimum), .integer(let i)):
            guard i >= minimum else { throw ConfigError(s, a, "\(i) is not a whole number of at least \(minimum)") }
            return .integer(i)
        case (.integer(let minimum), .text(let t)): return .integer(try Check.integer(t, a, s, minimum: minimum))
        case (.seconds, .integer(let i)): return .number(try Self.seconds(Double(i), raw, orOff: false, a, s))
        case (.seconds, .number(let d)): return .number(try Self.seconds(d, raw, orOff: false, a, s))
        case (.seconds, .text(let t)): return .number(try Check.seconds(t, a, s))
        case (.secondsOrOff, .integer(let i)): return .number(try Self.seconds(Double(i), raw, orOff: true, a, s))
        case (.secondsOrOff, .number(let d)): return .number(try Self.seconds(d, raw, orOff: true, a, s))
        case (.secondsOrOff, .text(let t)):
            guard let d = Double(t.trimmingSpaces) else { throw ConfigError(s, a, "\"\(t)\" is not a number of seconds (0: off)") }
            return .number(try Self.seconds(d, raw, orOff: true, a, s))
        case (.yesNo, .boolean(let b)): return .flag(b)
        case (.yesNo, .text(let t)): return .flag(try Check.yesNo(t, a, s))
        case (_, .text(let t)): return try readText(t, a, s)
        default:
            throw ConfigError(s, a, "\(raw.shown): \(raw.typeName) where \(describes) is expected")
        }
    }

    private static func seconds(_ d: Double, _ raw: RawValue, orOff: Bool, _ a: String, _ s: Source) throws(ConfigError) -> Double {
        guard d.isFinite, d > 0 || (orOff && d == 0) else {
            throw ConfigError(s, a, "\(raw.shown) is not \(orOff ? "a number of seconds (0: off)" : "a positive number of seconds")")
        }
        return d
    }

    /// The kinds that are text in every format.
    private func readText(_ t: String, _ a: String, _ s: Source) throws(ConfigError) -> AttributeValue {
        switch self {
        case .packageName: return .text(try Check.packageName(t, a, s))
        case .vgName: return .text(try Check.vgName(t, a, s))
        case .path: return .text(try Check.absolutePath(t, a, s))
        case .word: return .text(try Check.word(t, a, s))
        case .words: return .words(try Check.words(t, a, s))
        case .text: return .text(t.trimmingSpaces)
        case .oneOf(let values):
            let value = t.trimmingSpaces.lowercased()
            guard values.contains(value) else {
                throw ConfigError(s, a, "\"\(t)\": \(values.joined(separator: " or ")) expected")
            }
            return .text(value)
        case .services:
            let list = t.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            if let bad = list.first(where: { !Attributes.monitorServices.contains($0) }) {
                throw ConfigError(s, a, "unknown service \"\(bad)\"; known: \(Attributes.monitorServices.sorted().joined(separator: ", "))")
            }
            return .words(list)
        case .netids:
            let list = t.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.lowercased() }
            if let bad = list.first(where: { !Attributes.netids.contains($0) }) {
                throw ConfigError(s, a, "unknown transport \"\(bad)\"; known: \(Attributes.netids.joined(separator: ", "))")
            }
            if list.isEmpty { throw ConfigError(s, a, "no transport: \(Attributes.netids.joined(separator: ", ")) expected") }
            return .words(list)
        case .only(_, let accepts, let otherwise):
            guard accepts(t) else { throw ConfigError(s, a, "\"\(t.trimmingSpaces)\": \(otherwise)") }
            return .text(t)
        case .export: return .exports(try ExportSpec.exports(fromArguments: t, a, s))
        case .address:
            guard let (address, prefix) = IPAddress.parse(cidr: t.trimmingSpaces) else {
                throw ConfigError(s, a, "\"\(t)\" is not an IPv4 or IPv6 address")
            }
            return .address(address, prefix)
        case .subnet:
            guard let subnet = Subnet(t.trimmingSpaces) else { throw ConfigError(s, a, "\"\(t)\" is not a subnet address") }
            return .subnet(subnet)
        case .integer, .seconds, .secondsOrOff, .yesNo:
            preconditionFailure("read before")
        }
    }
}
