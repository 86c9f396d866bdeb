import Foundation
import HostBindings
import PackageConfig
import TestSupport
import Testing

/// The three formats read into one model; bad input is named by file, line
/// and attribute.
@Suite struct Formats {
    let installation = Installation(shareDirectory: FileManager.default.currentDirectoryPath, siteDirectory: nil)

    static let modular = """
        # A Serviceguard modular package
        package_name        nfspkg
        package_type        failover
        node_name           *
        vg                  vgnfs
        fs_name             /dev/vgnfs/lv1
        fs_directory        /srv/nfs/a
        fs_type             "ext4"
        fs_mount_opt        "-o rw,noatime"
        fs_umount_opt       ""
        fs_fsck_opt         "-y"
        fs_name             /dev/vgnfs/lv2
        fs_directory        /srv/nfs/b
        fs_type             xfs
        concurrent_fsck_operations              4
        concurrent_mount_and_umount_operations  8
        fs_mount_retry_count    1
        fs_umount_retry_count   2
        ip_subnet           192.0.2.0/24
        ip_address          192.0.2.10
        tkit/nfs/nfs/XFS    "-o rw,sync,fsid=101 *:/srv/nfs/a"
        nfs/hanfs_export/XFS "-o ro,fsid=102 192.0.2.0/24:/srv/nfs/b"
        tkit/nfs/nfs/LOCK_MIGRATION      YES
        tkit/nfs/nfs/NFS_FLM_HOLDING_DIR /srv/nfs/a/.flm
        tkit/nfs/nfs/PROPAGATE_INTERVAL  2
        tkit/nfs/nfs/STATMON_WAITTIME    30
        tkit/nfs/nfs/MONITOR_INTERVAL    10
        tkit/nfs/nfs/QUOTA_MON           NO
        """


    @Test func modularFileReadsEveryAttribute() throws {
        let c = try TextFormats.parse(Self.modular, file: "pkg.conf")
        #expect(c.name == "nfspkg")
        #expect(c.volumeGroups.map(\.name) == ["vgnfs"])
        #expect(c.fileSystems.count == 2)
        #expect(c.fileSystems[0] == FileSystem(
            device: "/dev/vgnfs/lv1", directory: "/srv/nfs/a", type: "ext4", mountOptions: ["-o", "rw,noatime"],
            fsckOptions: ["-y"], source: Source(file: "pkg.conf", line: 6)))
        #expect(c.fileSystems[1].type == "xfs")
        #expect(c.fsckConcurrency == 4 && c.mountConcurrency == 8 && c.mountRetries == 1 && c.umountRetries == 2)
        #expect(c.addresses == [PackageAddress(address: IPAddress("192.0.2.10")!, subnet: Subnet("192.0.2.0/24"), source: Source(file: "pkg.conf", line: 20))])
        #expect(c.exports.map(\.directory) == ["/srv/nfs/a", "/srv/nfs/b"])
        #expect(c.exports[0].clients == "*" && c.exports[0].options == ["rw", "sync"] && c.exports[0].fsid == .number(101))
        #expect(c.exports[1].clients == "192.0.2.0/24" && c.exports[1].optionString == "ro,fsid=102")
        #expect(c.lockMigration.enabled && c.lockMigration.holdingDirectory == "/srv/nfs/a/.flm")
        #expect(c.lockMigration.propagateInterval == 2 && c.lockMigration.statmonWaitTime == 30)
        #expect(c.monitor.interval == 10 && !c.monitor.quota)
        let sles = try TextFormats.parse(Self.modular + "\nlock_restart lockd\nsm_dir /var/lib/nfs/sm\n", file: "pkg.conf")
        #expect(sles.lockMigration.restart == .lockd && sles.lockMigration.smDirectory == "/var/lib/nfs/sm")
    }

    @Test func theThreeFormatsGiveOneModel() throws {
        let scratch = try Scratch()
        let modular = try scratch.write("m/pkg.conf", """
            package_name nfspkg
            vg vgnfs
            fs_name /dev/vgnfs/lv1
            fs_directory /srv/nfs/a
            fs_type ext4
            fs_mount_opt "-o noatime"
            ip_subnet 192.0.2.0
            ip_address 192.0.2.10
            tkit/nfs/nfs/XFS "-o rw,fsid=101 *:/srv/nfs/a"
            tkit/nfs/nfs/LOCK_MIGRATION YES
            tkit/nfs/nfs/NFS_FLM_HOLDING_DIR /srv/nfs/a/flm
            run_monitor yes
            monitor_probe yes
            """)
        let legacy = try scratch.write("nfspkg/hanfs.conf", """
            # the package is named by its directory
            VG[0]=vgnfs
            LV[0]=/dev/vgnfs/lv1
            FS[0]="/srv/nfs/a"
            FS_TYPE[0]='ext4'
            FS_MOUNT_OPT[0]="-o noatime"
            IP[0]=192.0.2.10
            SUBNET[0]=192.0.2.0
            XFS[0]="-o rw,fsid=101 *:/srv/nfs/a"
            LOCK_MIGRATION=YES
            NFS_FLM_HOLDING_DIR=/srv/nfs/a/flm
            NFS_SERVICE_NAME[0]=nfspkg.monitor
            MONITOR_PROBE=yes
            """)
        let lua = try scratch.write("l/pkg.lua", """
            package { name = "nfspkg", lock_migration = { enabled = true, holding_dir = "/srv/nfs/a/flm" },
                      monitor = { run = true, probe = true } }
            vg "vgnfs"
            filesystem { device = "/dev/vgnfs/lv1", directory = "/srv/nfs/a", type = "ext4", options = "noatime" }
            export { directory = "/srv/nfs/a", clients = "*", options = "rw", fsid = 101 }
            address { address = "192.0.2.10", subnet = "192.0.2.0" }
            """)
        var models = try [modular, legacy, lua].map { try PackageLoader.load($0, installation: installation) }
        #expect(models.allSatisfy { $0.monitor.run && $0.monitor.probe })
        // Only the legacy file names the monitor's Serviceguard service.
        #expect(models.map(\.monitor.serviceName) == ["", "nfspkg.monitor", ""])
        models[1].monitor.serviceName = ""
        for i in models.indices {
            // Only where each part was declared differs.
            models[i].file = ""
            models[i].source = Source(file: "", line: 0)
            models[i].lockMigration.source = nil
            models[i].sources = [:]
            for j in models[i].volumeGroups.indices { models[i].volumeGroups[j].source = Source(file: "", line: 0) }
            for j in models[i].fileSystems.indices { models[i].fileSystems[j].source = Source(file: "", line: 0) }
            for j in models[i].exports.indices { models[i].exports[j].source = Source(file: "", line: 0) }
            for j in models[i].addresses.indices { models[i].addresses[j].source = Source(file: "", line: 0) }
        }
        #expect(models[0] == models[1])
        #expect(models[0] == models[2])
        #expect(models[0].name == "nfspkg")
    }

    /// The errors a file gives, as `line: attribute: problem`.
    func errors(_ text: String, file: String = "pkg.conf") -> [String] {
        do {
            _ = try TextFormats.parse(text, file: file)
            return []
        } catch {
            return error.errors.map { "\($0.source.line): \($0.attribute): \($0.problem)" }
        }
    }

    static let base = """
        package_name nfspkg
        fs_name /dev/sdb1
        fs_directory /srv/a

        """

    @Test func unknownAttribute() {
        #expect(errors(Self.base + "fs_mount_options \"-o rw\"") == ["4: fs_mount_options: unknown attribute"])
        #expect(errors(Self.base + "tkit/nfs/nfs/XFSS \"-o fsid=1 *:/srv/a\"") == ["4: tkit/nfs/nfs/XFSS: unknown attribute"])
        #expect(errors("XFS[0]=\"-o fsid=1 /srv/a\"\nLOCK_MIGRATON=YES", file: "p/hanfs.conf").contains("2: LOCK_MIGRATON: unknown variable"))
    }

    @Test func missingAndDuplicateFSID() {
        #expect(errors(Self.base + "tkit/nfs/nfs/XFS \"-o rw *:/srv/a\"") == [
            "4: XFS: export of /srv/a has no fsid: add fsid=N (unique in the package) so that clients keep their file handles after a failover"
        ])
        let dup = Self.base + "fs_name /dev/sdc1\nfs_directory /srv/b\nXFS \"-o fsid=7 *:/srv/a\"\nXFS \"-o fsid=7 *:/srv/b\""
        #expect(errors(dup) == ["7: XFS: fsid=7 of /srv/b is already used by /srv/a (pkg.conf:6)"])
        // The same directory to two client specs shares its fsid: fine.
        #expect(errors(Self.base + "XFS \"-o fsid=7 h1:/srv/a h2:/srv/a\"") == [])
        #expect(errors(Self.base + "XFS \"-o rw,fsid=1,bogus *:/srv/a\"") == ["4: XFS: unknown export option \"bogus\""])
        #expect(errors(Self.base + "XFS \"-o fsid=7,fsid=8 *:/srv/a\"") == ["4: XFS: fsid given twice"])
        #expect(errors(Self.base + "XFS \"-o fsid=a,b *:/srv/a\"") == ["4: XFS: fsid \"a\" is neither a number nor a UUID"])
    }

    @Test func mountPointNotAbsolute() {
        #expect(errors("package_name p\nfs_name /dev/sdb1\nfs_directory srv/a") == ["3: fs_directory: \"srv/a\" is not an absolute path"])
        #expect(errors("package_name p\nfs_name /dev/sdb1\nfs_directory /srv/../etc").contains { $0.hasPrefix("3: fs_directory:") })
        #expect(errors("package_name p\nfs_name /dev/sdb1\nfs_directory /") == ["2: fs_directory: / cannot be a package file system"])
    }

    @Test func malformedAddress() {
        #expect(errors("package_name p\nip_address 192.0.2.300") == ["2: ip_address: \"192.0.2.300\" is not an IPv4 or IPv6 address"])
        #expect(errors("package_name p\nip_subnet 10.0.0.0/8\nip_address 192.0.2.1") == ["3: ip_address: 192.0.2.1 is not in subnet 10.0.0.0/8"])
        #expect(errors("package_name p\nip_address 2001:db8::10/64") == [])
        #expect(errors("package_name p\nip_address 2001:db8::10/129").count == 1)
    }

    @Test func shellMetacharacters() {
        #expect(errors("package_name p\nfs_name \"/dev/sdb1;reboot\"\nfs_directory /srv/a") == [
            "2: fs_name: \"/dev/sdb1;reboot\" contains ';', a shell metacharacter; none belongs here"
        ])
        #expect(errors("package_name p\nfs_name /dev/sdb1\nfs_directory /srv/a\nfs_mount_opt \"-o rw $(id)\"").first?.hasPrefix("4: fs_mount_opt:") == true)
        #expect(errors("package_name p\nXFS \"-o rw,fsid=1 *:/srv/a`id`\"").first?.contains("shell metacharacter") == true)
        #expect(errors("PACKAGE_NAME=p\nFS[0]=\"/srv/$HOME\"", file: "d/hanfs.conf") == [
            "2: FS[0]: \"/srv/$HOME\": shell expansion ($ or `) is not evaluated here"
        ])
    }

    @Test func malformedValues() {
        #expect(errors("package_name p q") == ["1: package_name: a value with spaces must be quoted"])
        #expect(errors("package_name \"p") == ["1: package_name: no closing quote"])
        #expect(errors("package_name p\nconcurrent_fsck_operations 0") == ["2: concurrent_fsck_operations: \"0\" is not a whole number of at least 1"])
        #expect(errors("package_name p\ntkit/nfs/nfs/LOCK_MIGRATION maybe") == ["2: tkit/nfs/nfs/LOCK_MIGRATION: \"maybe\": YES or NO expected"])
        #expect(errors("package_name p\nfs_directory /srv/a") == ["2: fs_directory: comes before any fs_name"])
        #expect(errors("vg vg01") == ["0: package_name: missing: the package has no name"])
        #expect(errors("package_name p\ntkit/nfs/nfs/LOCK_MIGRATION YES") == [
            "2: NFS_FLM_HOLDING_DIR: lock migration is on but there is no holding directory"
        ])
        #expect(errors(Self.base + "NFS_FLM_HOLDING_DIR /var/flm\nLOCK_MIGRATION yes") == [
            "4: NFS_FLM_HOLDING_DIR: /var/flm is on none of the package's file systems: it must move with the package"
        ])
        #expect(errors(Self.base + "XFS \"-o fsid=1 *:/home\"").first?.contains("is on none of the package's file systems") == true)
        #expect(errors("package_name p\nvg vg01\nfs_name /dev/vg02/lv1\nfs_directory /srv/a") == [
            "3: fs_name: /dev/vg02/lv1 is in VG vg02, which the package does not list"
        ])
    }

    @Test func luaFileErrorsNameTheLineAndField() throws {
        let scratch = try Scratch()
        let path = try scratch.write("bad.lua", """
            package { name = "p", mount_concurency = 3 }
            filesystem { device = "/dev/sdb1", directory = "/srv/a" }
            export { directory = "/srv/a", clients = "*", options = "rw" }
            address { address = "192.0.2.10/33" }
            filesystem { device = "/dev/sdc1", directory = "srv/b", color = "red" }
            """)
        do {
            _ = try PackageLoader.load(path, installation: installation)
            Issue.record("no error")
        } catch {
            #expect(error.errors.map { "\($0.source.line): \($0.attribute): \($0.problem)" } == [
                "1: package.mount_concurency: unknown field",
                "3: export: export of /srv/a has no fsid: add fsid=N (unique in the package) so that clients keep their file handles after a failover",
                "4: address.address: \"192.0.2.10/33\" is not an IPv4 or IPv6 address",
                "5: filesystem.color: unknown field",
                "5: filesystem.directory: \"srv/b\" is not an absolute path",
            ])
        }
        let broken = try scratch.write("broken.lua", "package { name = 'p' }\nvg(\n")
        do {
            _ = try PackageLoader.load(broken, installation: installation)
        } catch {
            #expect(error.errors.count == 1 && error.errors[0].source.line == 3)
        }
        // The package file cannot run commands: no primitives there.
        let sneaky = try scratch.write("sneaky.lua", "package { name = 'p' }\nrun { 'touch', '/tmp/x' }\n")
        do {
            _ = try PackageLoader.load(sneaky, installation: installation)
        } catch {
            #expect(error.errors.count == 1 && error.errors[0].source.line == 2)
        }
    }
}

/// The examples in the README are valid package files, and the same package.
@Suite struct ReadmeExamples {
    @Test func theThreeExamplesAreValid() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        // The fenced blocks, by what they hold.
        let blocks = text.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map { block in
            String(block.element.drop { $0 != "\n" }.dropFirst())
        }
        let lua = try #require(blocks.first { $0.hasPrefix("package {") })
        let modular = try #require(blocks.first { $0.hasPrefix("package_name") })
        let legacy = try #require(blocks.first { $0.contains("XFS[0]=") })
        let scratch = try Scratch()
        let installation = Installation(shareDirectory: scratch.path, siteDirectory: nil)
        let lc = try PackageLoader.load(try scratch.write("pkg.lua", lua), installation: installation)
        let mc = try PackageLoader.load(try scratch.write("pkg.conf", modular), installation: installation)
        let gc = try PackageLoader.load(try scratch.write("nfspkg/hanfs.conf", legacy), installation: installation)
        for c in [lc, mc, gc] {
            #expect(c.name == "nfspkg")
            #expect(c.volumeGroups.map(\.name) == ["vg01"])
            #expect(c.fileSystems.first?.directory == "/srv/nfs/a")
            #expect(c.exports.first?.fsid == .number(101))
            #expect(c.addresses.first?.address.description == "192.0.2.10")
            #expect(c.lockMigration.enabled)
        }
    }
}
