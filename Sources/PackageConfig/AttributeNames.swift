/// The attribute names of the two text formats, mapped onto `Field`: all
/// made from the attribute table (Attributes.all).
enum AttributeNames {
    /// The NFS toolkit's attributes: in a modular file behind any module
    /// prefix (`tkit/nfs/nfs/XFS`, `nfs/hanfs_export/XFS`).
    static let toolkit: [String: Field] = names(Attributes.all.filter { $0.origin == .toolkit }.flatMap { a in a.modular.map { ($0, a.field) } })

    /// Serviceguard's modular package attributes and hanfs's own, by name.
    static let modular: [String: Field] = names(Attributes.all.filter { $0.origin != .toolkit }.flatMap { a in a.modular.map { ($0, a.field) } })
        .merging(Attributes.serviceguardOwn.map { ($0, .ignored) }, uniquingKeysWith: { a, _ in a })

    /// The legacy control-script and hanfs.conf variables.
    static let legacy: [String: Field] = names(Attributes.all.flatMap { a in a.legacy.map { ($0, a.field) } })

    private static func names(_ pairs: [(String, Field)]) -> [String: Field] {
        Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    }

    static func modularField(_ attribute: String) -> Field? {
        if let f = modular[attribute] { return f }
        if attribute.hasPrefix("pev_") { return .ignored }
        // A module's attribute: its last component (`tkit/nfs/nfs/XFS` is XFS).
        let last = String(attribute.split(separator: "/").last ?? "")
        return toolkit[last] ?? modular[last].flatMap { Attributes.attribute($0)?.origin == .hanfs ? $0 : nil }
    }

    static func legacyField(_ variable: String) -> Field? { legacy[variable] }

    /// A field's name in each format, for messages about the whole package.
    static func modularName(_ field: Field) -> String {
        Attributes.attribute(field)?.modular.first ?? "\(field)"
    }

    static func legacyName(_ field: Field) -> String {
        Attributes.attribute(field)?.legacy.first ?? "\(field)"
    }
}
