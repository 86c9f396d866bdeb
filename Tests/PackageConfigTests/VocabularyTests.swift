import Foundation
import HostBindings
import PackageConfig
import Primitives
import TestSupport
import Testing

/// Every setting of the toolkit's, Serviceguard's and hanfs's vocabularies
/// that hanfs reads is honoured (a value of it changes what hanfs does) or
/// refused (an error saying what to use instead): walked over the one
/// attribute table, in both text formats. None is read and dropped.
@Suite struct Vocabulary {
    /// A package with a file system, an export, an address and lock
    /// migration: every attribute can be set on it alone.
    static let modularBase = [
        "package_name nfspkg", "vg vgnfs", "fs_name /dev/vgnfs/lv1", "fs_directory /srv/nfs", "fs_type ext4",
        "ip_address 192.0.2.10", "tkit/nfs/nfs/XFS \"-o rw,fsid=101 *:/srv/nfs/a\"", "tkit/nfs/nfs/LOCK_MIGRATION YES",
        "tkit/nfs/nfs/NFS_FLM_HOLDING_DIR /srv/nfs/.flm",
    ]
    static let legacyBase = [
        "PACKAGE_NAME=nfspkg", "VG[0]=vgnfs", "LV[0]=/dev/vgnfs/lv1", "FS[0]=/srv/nfs", "FS_TYPE[0]=ext4", "IP[0]=192.0.2.10",
        "XFS[0]=\"-o rw,fsid=101 *:/srv/nfs/a\"", "LOCK_MIGRATION=YES", "NFS_FLM_HOLDING_DIR=/srv/nfs/.flm",
    ]

    /// One way of writing an attribute: its name, and how a line sets it.
    struct Spelling: CustomStringConvertible, Sendable {
        let attribute: String
        let legacy: Bool
        func line(_ value: String) -> String {
            legacy ? "\(attribute)=\"\(value)\"" : "\(attribute) \"\(value)\""
        }
        var description: String { attribute }
    }

    /// The package-wide attributes (the items, exports, VGs and name are
    /// read whole by every other test), each name in each format.
    static let spellings: [(Attribute, Spelling)] = Attributes.all.flatMap { a -> [(Attribute, Spelling)] in
        switch a.kind {
        case .packageName, .vgName, .export, .address, .subnet: return []
        default: break
        }
        if a.native == "filesystem.type" || a.native?.hasPrefix("filesystem.") == true || a.native?.hasPrefix("address.") == true {
            return []
        }
        let modular = a.modular.map { Spelling(attribute: a.origin == .toolkit ? "tkit/nfs/nfs/\($0)" : $0, legacy: false) }
        return (modular + a.legacy.map { Spelling(attribute: $0, legacy: true) }).map { (a, $0) }
    }

    /// The package read with one more line (the base's own line for that
    /// name left out), where each part was declared forgotten; or its errors.
    static func model(_ spelling: Spelling, _ value: String?) -> Result<PackageConfiguration, ConfigErrors> {
        let base = (spelling.legacy ? legacyBase : modularBase).filter {
            !$0.hasPrefix(spelling.attribute + (spelling.legacy ? "=" : " "))
        }
        let text = (base + (value.map { [spelling.line($0)] } ?? [])).joined(separator: "\n") + "\n"
        do {
            return .success(withoutSources(try TextFormats.parse(text, file: spelling.legacy ? "/etc/cmcluster/nfspkg/hanfs.conf" : "pkg.conf")))
        } catch {
            return .failure(error)
        }
    }

    /// The package without where each part was declared: what two formats may differ in.
    static func withoutSources(_ package: PackageConfiguration) -> PackageConfiguration {
        var c = package
        c.file = ""
        c.source = Source(file: "", line: 0)
        c.sources = [:]
        c.lockMigration.source = nil
        c.ganesha.source = nil
        c.kernel.source = nil
        for i in c.volumeGroups.indices { c.volumeGroups[i].source = Source(file: "", line: 0) }
        for i in c.fileSystems.indices { c.fileSystems[i].source = Source(file: "", line: 0) }
        for i in c.exports.indices { c.exports[i].source = Source(file: "", line: 0) }
        for i in c.addresses.indices { c.addresses[i].source = Source(file: "", line: 0) }
        return c
    }

    /// Values to try: one of them must change the model.
    static func samples(_ kind: AttributeKind) -> [String] {
        switch kind {
        case .integer(let minimum): ["\(minimum + 5)", "\(minimum + 1)", "\(minimum)"]
        case .seconds: ["45", "100", "15", "120", "3600"]
        case .secondsOrOff: ["0", "3"]
        case .yesNo: ["YES", "NO"]
        case .oneOf(let values): values
        case .path: ["/srv/nfs/x", "/srv/nfs/y"]
        case .word, .text: ["x1", "-r 2"]
        case .words: ["-x"]
        case .services: ["rpcbind,nfs"]
        case .netids: ["tcp6"]
        case .packageName, .vgName, .export, .address, .subnet, .only: []
        }
    }

    @Test(arguments: spellings.filter { if case .only = $0.0.kind { false } else { true } }.map(\.1))
    func anAttributeHanfsReadsChangesWhatItDoes(_ spelling: Spelling) throws {
        let attribute = Self.spellings.first { $0.1.attribute == spelling.attribute }!.0
        // Unset (where the package reads without it) and each sample: two must differ.
        let models = ([nil] + Self.samples(attribute.kind)).compactMap { try? Self.model(spelling, $0).get() }
        #expect(models.contains { $0 != models.first }, "no value of \(spelling) changes the package")
    }

    /// What `hanfs import` writes reads back as the same package, for every
    /// attribute and value of the walk: nothing of the table is lost on the
    /// way to the native format (what it has no name for, resolved first).
    @Test(arguments: spellings.filter { if case .only = $0.0.kind { false } else { true } }.map(\.1))
    func theNativeFileImportWritesIsTheSamePackage(_ spelling: Spelling) throws {
        let attribute = Self.spellings.first { $0.1.attribute == spelling.attribute }!.0
        let scratch = try Scratch()
        let installation = Installation(shareDirectory: FileManager.default.currentDirectoryPath, siteDirectory: nil)
        for value in [nil] + Self.samples(attribute.kind) {
            guard var original = try? Self.model(spelling, value).get() else { continue }
            let path = try scratch.write("p\(abs(value.hashValue)).lua", NativeWriter.render(original, header: "test"))
            let back = try PackageLoader.load(path, installation: installation)
            // What the native format says another way: TKIT_DIR as the maintenance file, the
            // toolkit's NFSv4 holding directory as the server's recovery directory; the
            // Serviceguard service name (NativeWriter.leftOut says so).
            if !original.toolkitDirectory.isEmpty && original.monitor.maintenanceFile.isEmpty {
                original.monitor.maintenanceFile = original.toolkitDirectory + "/nfs.debug"
            }
            original.toolkitDirectory = ""
            if !original.nfsv4HoldingDirectory.isEmpty {
                if original.kernel.recoveryDirectory.isEmpty { original.kernel.recoveryDirectory = original.nfsv4HoldingDirectory }
                if original.ganesha.recoveryDirectory.isEmpty { original.ganesha.recoveryDirectory = original.nfsv4HoldingDirectory }
                original.nfsv4HoldingDirectory = ""
            }
            original.monitor.serviceName = ""
            original.monitor.serviceRestart = []
            let read = Self.withoutSources(back)
            #expect(read == original, "\(spelling) = \(value ?? "(unset)")")
        }
    }

    /// Taken where the value means what hanfs does; any other refused, at
    /// its line, saying what to use instead.
    static let meaningWhatHanfsDoes: [String: String] = [
        "NFS_FLM_SCRIPT": "/etc/cmcluster/nfs/nfs.flm", "tkit/nfs/nfs/NFS_FLM_SCRIPT": "/opt/nfs/nfs.flm",
        "NFS_SERVICE_CMD": "/etc/cmcluster/nfspkg/nfs.mon", "VGCHANGE": "vgchange -a e", "vgchange_cmd": "vgchange  -a y",
        "CONCURRENT_VGCHANGE_OPERATIONS": "1", "concurrent_vgchange_operations": "1", "enable_threaded_vgchange": "0",
        "KILL_PROCESSES_ACCESSING_RAW_DEVICES": "NO", "kill_processes_accessing_raw_devices": "no",
        "VXVM_DG": "", "vxvm_dg": "", "CVM_DG": "", "cvm_dg": "",
    ]

    @Test(arguments: spellings.filter { if case .only = $0.0.kind { true } else { false } }.map(\.1))
    func anAttributeTakenAsHanfsDoesIsRefusedAtAnyOtherValue(_ spelling: Spelling) throws {
        guard case .only(_, _, let otherwise) = Self.spellings.first(where: { $0.1.attribute == spelling.attribute })!.0.kind else { return }
        let same = try #require(Self.meaningWhatHanfsDoes[spelling.attribute], "no accepted value listed for \(spelling)")
        #expect(try Self.model(spelling, same).get() == Self.model(spelling, nil).get())
        guard case .failure(let errors) = Self.model(spelling, "/usr/local/bin/other 2") else {
            Issue.record("\(spelling) at another value was taken")
            return
        }
        let line = (spelling.legacy ? Self.legacyBase : Self.modularBase).count + 1
        #expect(errors.errors.map(\.description).contains { $0.contains(":\(line): \(spelling.attribute): ") && $0.contains(otherwise) },
                "\(errors.errors)")
    }

    /// The toolkit's own legacy template lines read as it wrote them.
    @Test func theToolkitsLegacyTemplateLinesAreTaken() throws {
        let c = try TextFormats.parse(
            (Self.legacyBase + [
                "NFS_SERVICE_NAME[0]=nfs1.monitor", "NFS_SERVICE_CMD[0]=\"/etc/cmcluster/nfs/nfs.mon\"",
                "NFS_SERVICE_RESTART[0]=\"-r 0\"", "NFS_FLM_SCRIPT=\"${0%/*}/nfs.flm\"", "NFS_FLM_MONITOR=YES",
                "NFS_FLM_RESTART=4", "MONITOR_LOCKD_RETRY=6", "PORTMAP_RETRY=2", "SUPPORTED_NETIDS=\"tcp udp\"",
                "TKIT_DIR=/etc/cmcluster/nfspkg", "MAINTENANCE_FLAG=yes", "NFSV4_FLM_HOLDING_DIR=/srv/nfs/v4",
                "ACTIVATION_RETRY_COUNT=1", "DEACTIVATION_RETRY_COUNT=3",
            ]).joined(separator: "\n"), file: "/etc/cmcluster/nfspkg/hanfs.conf")
        #expect(c.monitor.serviceName == "nfs1.monitor" && c.monitor.serviceRestart == ["-r", "0"])
        #expect(c.lockMigration.monitorSync && c.lockMigration.syncRestarts == 4)
        #expect(c.monitor.lockdRetries == 6 && c.monitor.rpcbindRetries == 2 && c.monitor.netids == ["tcp", "udp"])
        #expect(c.maintenanceFile(runDirectory: "/run/hanfs") == "/etc/cmcluster/nfspkg/nfs.debug")
        #expect(c.kernelRecoveryDirectory == "/srv/nfs/v4" && c.ganeshaRecoveryDirectory == "/srv/nfs/v4")
        #expect(c.vgActivationRetries == 1 && c.vgDeactivationRetries == 3)
    }

    @Test func withoutTheMaintenanceFlagThereIsNoMaintenanceMode() throws {
        let off = try TextFormats.parse((Self.legacyBase + ["MAINTENANCE_FLAG=no", "TKIT_DIR=/etc/cmcluster/nfspkg"]).joined(separator: "\n"), file: "x/hanfs.conf")
        #expect(off.maintenanceFile(runDirectory: "/run/hanfs") == nil)
        let plain = try TextFormats.parse(Self.legacyBase.joined(separator: "\n"), file: "x/hanfs.conf")
        #expect(plain.maintenanceFile(runDirectory: "/run/hanfs") == "/run/hanfs/nfspkg.maintenance")
        #expect(throws: ConfigErrors.self) {
            try TextFormats.parse((Self.modularBase + ["tkit/nfs/nfs/MAINTENANCE_FLAG no", "maintenance_file /run/m"]).joined(separator: "\n"), file: "p.conf")
        }
    }

    @Test func theNFSv4HoldingDirectoryIsTheServersRecoveryDirectoryGivenOnce() throws {
        func errors(_ lines: [String]) -> [String] {
            do {
                _ = try TextFormats.parse((Self.modularBase + lines).joined(separator: "\n"), file: "p.conf")
                return []
            } catch { return error.errors.map(\.problem) }
        }
        #expect(errors(["tkit/nfs/nfs/NFSV4_FLM_HOLDING_DIR /srv/nfs/v4", "kernel_manage yes"]) == [])
        #expect(errors(["tkit/nfs/nfs/NFSV4_FLM_HOLDING_DIR /var/v4", "kernel_manage yes"])
            == ["/var/v4 is on none of the package's file systems: it must move with the package"])
        #expect(errors(["tkit/nfs/nfs/NFSV4_FLM_HOLDING_DIR /srv/nfs/v4", "nfs_server ganesha", "ganesha_recovery_dir /srv/nfs/g"])
            .first?.hasPrefix("/srv/nfs/g and NFSV4_FLM_HOLDING_DIR /srv/nfs/v4") == true)
    }

    /// Each export option exportfs takes has its meaning under NFS-Ganesha:
    /// its own setting, what it does anyway, or refused at validation.
    @Test(arguments: ExportSpec.optionNames.sorted())
    func everyExportOptionIsHonouredOrRefusedUnderNFSGanesha(_ name: String) throws {
        guard name != "fsid" else { return }  // Export_Id and Filesystem_id
        let meaning = try #require(ExportSpec.underGanesha[name], "\(name) has no meaning under NFS-Ganesha")
        let option = [
            "sec": "sec=krb5p:sys", "anonuid": "anonuid=65534", "anongid": "anongid=65534", "mountpoint": "mountpoint=/srv/nfs",
            "mp": "mp", "refer": "refer=/a@other", "replicas": "replicas=/a@other", "xprtsec": "xprtsec=tls", "fsid": "fsid=7",
        ][name] ?? name
        let lines = Self.modularBase.filter { !$0.contains("XFS") } + ["nfs_server ganesha", "tkit/nfs/nfs/XFS \"-o \(option),fsid=101 *:/srv/nfs/a\""]
        let parsed = Result { () throws(ConfigErrors) in try TextFormats.parse(lines.joined(separator: "\n"), file: "p.conf") }
        switch meaning {
        case .refused(let why):
            guard case .failure(let errors) = parsed else { Issue.record("\(name) was taken"); return }
            #expect(errors.errors.map(\.problem) == ["export option \(option) of /srv/nfs/a: \(why)"])
        case .setting:
            let block = Ganesha.exportBlock(try parsed.get().exports[0])
            let plain = Ganesha.exportBlock(try TextFormats.parse(
                (Self.modularBase.filter { !$0.contains("XFS") } + ["nfs_server ganesha", "tkit/nfs/nfs/XFS \"-o fsid=101 *:/srv/nfs/a\""])
                    .joined(separator: "\n"), file: "p.conf").exports[0])
            #expect(block != plain || ["ro", "root_squash"].contains(name), "\(name) changes nothing in \(block)")
        case .already:
            _ = try parsed.get()
        }
    }

    @Test func kerberosExportsAreKerberosUnderNFSGanesha() throws {
        let lines = Self.modularBase.filter { !$0.contains("XFS") } + [
            "nfs_server ganesha", "tkit/nfs/nfs/XFS \"-o rw,sec=krb5p:krb5i,fsid=101 *:/srv/nfs/a\"",
        ]
        let c = try TextFormats.parse(lines.joined(separator: "\n"), file: "p.conf")
        let text = Ganesha.render(c, c.exports)
        #expect(text.contains("SecType = krb5p, krb5i;"))
        #expect(text.contains("NFS_KRB5 { Active_krb5 = true; }"))
        let plain = try TextFormats.parse(Self.modularBase.joined(separator: "\n"), file: "p.conf")
        #expect(Ganesha.render(plain, plain.exports).contains("SecType = sys;"))
        #expect(Ganesha.render(plain, plain.exports).contains("Active_krb5 = false;"))
        // A flavor no server knows is refused in every format, under either server.
        #expect(throws: ConfigErrors.self) {
            try TextFormats.parse((Self.modularBase.filter { !$0.contains("XFS") } + ["tkit/nfs/nfs/XFS \"-o sec=krb6,fsid=1 *:/srv/nfs/a\""])
                .joined(separator: "\n"), file: "p.conf")
        }
    }
}
