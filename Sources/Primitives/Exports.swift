import Foundation
import SafeFiles
import PackageConfig

/// An entry of the kernel NFS server's export table.
public struct ExportEntry: Sendable, Equatable {
    public var directory: String
    /// `*` for everyone (exportfs shows `<world>`).
    public var clients: String
    public var options: [String]
}

/// Exports through exportfs, never by editing /etc/exports: the table it
/// keeps (/var/lib/nfs/etab) is read back to know what is exported.
public struct Exports: Sendable {
    public let node: NodeContext
    public var table: String
    /// The kernel server's control files, when it runs.
    public var nfsdDirectory: String

    public init(_ node: NodeContext, table: String = "/var/lib/nfs/etab", nfsdDirectory: String = "/proc/fs/nfsd") {
        self.node = node
        self.table = table
        self.nfsdDirectory = nfsdDirectory
    }

    /// What is exported now. A missing table is an empty one.
    public func list() throws -> [ExportEntry] {
        guard FileManager.default.fileExists(atPath: table) else { return [] }
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else {
            throw PrimitiveError("cannot read \(table)")
        }
        return text.split(separator: "\n").compactMap { line in
            // `/srv/a\t*(rw,sync,...)`
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, let open = parts[1].lastIndex(of: "("), parts[1].hasSuffix(")") else { return nil }
            let client = String(parts[1][..<open])
            let options = parts[1][parts[1].index(after: open)..<parts[1].index(before: parts[1].endIndex)]
            return ExportEntry(
                directory: MountTable.unescape(parts[0]), clients: client == "<world>" ? "*" : client,
                options: options.split(separator: ",").map(String.init))
        }
    }

    func entry(_ e: Export, in list: [ExportEntry]) -> ExportEntry? {
        list.first { $0.directory == e.directory && $0.clients == e.clients }
    }

    /// Whether the table has every option asked for (it adds the defaults).
    static func satisfies(_ entry: ExportEntry, _ e: Export) -> Bool {
        let have = Set(entry.options)
        return e.optionString.split(separator: ",").map(String.init).allSatisfy(have.contains)
    }

    /// Exports a directory to a client spec. Exported already with the same
    /// options is success; with other options it is exported again.
    public func export(_ e: Export, timeout: Double) throws -> Outcome {
        guard e.fsid != nil else { throw PrimitiveError("export of \(e.directory) has no fsid") }
        if let have = entry(e, in: try list()), Self.satisfies(have, e) { return .already }
        do { try LinkFreePath.check(e.directory, "export") } catch { throw PrimitiveError(error.problem) }
        var isDirectory: ObjCBool = false
        if !node.planning, !FileManager.default.fileExists(atPath: e.directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw PrimitiveError("\(e.directory) is not a directory: is its file system mounted?")
        }
        let argv = ["exportfs", "-o", e.optionString, "\(e.clients):\(e.directory)"]
        let r = try node.run(argv, timeout: timeout, check: false)
        guard !node.planning else { return .done }
        guard let have = entry(e, in: try list()), Self.satisfies(have, e) else {
            throw PrimitiveError.failed(argv, r)
        }
        if !r.succeeded {
            // exportfs also complains about things that are not this export (no kernel server, say).
            node.logger.warning("exportfs \(r.summary) but \(e.clients):\(e.directory) is exported: \(r.stderrTail())")
        }
        return .done
    }

    /// Unexports; not exported is success. Then the kernel server, where it
    /// runs, is told to drop the NLM locks held on that file system.
    public func unexport(_ e: Export, timeout: Double) throws -> Outcome {
        guard entry(e, in: try list()) != nil else { return .already }
        let argv = ["exportfs", "-u", "\(e.clients):\(e.directory)"]
        let r = try node.run(argv, timeout: timeout, check: false)
        if !node.planning, entry(e, in: try list()) != nil { throw PrimitiveError.failed(argv, r) }
        releaseLocks(e.directory)
        return .done
    }

    /// The kernel server's NLM locks on the file system dropped (`unlock_filesystem`), where it runs.
    func releaseLocks(_ directory: String) {
        _ = KernelServer(node, control: nfsdDirectory).unlockFileSystem(directory)
    }
}
