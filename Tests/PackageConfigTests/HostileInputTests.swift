import Foundation
import HostBindings
import PackageConfig
import TestSupport
import Testing

/// Package files written by mistake or by an attacker: each is refused with
/// file, line and attribute, and nothing of it is used.
@Suite struct HostileInput {
    let installation = Installation(shareDirectory: FileManager.default.currentDirectoryPath, siteDirectory: nil)

    /// The errors loading a file gives, as `file:line: attribute: problem`.
    func errors(_ path: String) -> [String] {
        do {
            _ = try PackageLoader.load(path, installation: installation)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aNulByteInAPathIsRefusedInEveryFormat() throws {
        let dir = try Scratch()
        // The NUL would have made the mount point "/": the file covered the node's root.
        let modular = try dir.write(
            "m/pkg.conf",
            "package_name p\nfs_name /dev/sdb1\nfs_directory \"/\u{0}srv\"\nXFS \"-o fsid=1 *:/\u{0}srv\"\n")
        #expect(errors(modular) == [
            "\(modular):3: a control character (U+0000) in the line: it has no place in a package file",
            "\(modular):4: a control character (U+0000) in the line: it has no place in a package file",
        ])
        let native = try dir.write(
            "n/pkg.lua",
            """
            package { name = "p" }
            filesystem { device = "/dev/sdb1", directory = "/\\0srv" }
            export { directory = "/\\0srv", fsid = 1 }
            """)
        #expect(errors(native) == [
            "\(native):2: filesystem.directory: a control character (U+0000) in the value: none belongs here",
            "\(native):3: export.directory: a control character (U+0000) in the value: none belongs here",
        ])
        let legacy = try dir.write("l/hanfs.conf", "PACKAGE_NAME=p\nLV[0]=/dev/sdb1\nFS[0]=\"/srv/a\u{1B}[2J\"\n")
        #expect(errors(legacy) == ["\(legacy):3: a control character (U+001B) in the line: it has no place in a package file"])
    }

    @Test func twoSpellingsOfOneNameAreRefused() throws {
        let dir = try Scratch()
        let nfc = "/srv/caf\u{E9}"  // é precomposed
        let nfd = "/srv/cafe\u{301}"  // e and a combining accent: another directory to the kernel
        let path = try dir.write(
            "pkg.conf", "package_name p\nfs_name /dev/sdb1\nfs_directory \(nfc)\nXFS \"-o fsid=1 *:\(nfd)\"\n")
        let found = errors(path)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.hasPrefix("\(path):4: XFS: \"-o fsid=1 *:\(nfd)\" is not in Unicode normal form C") == true, "\(found)")
        // Written the same way, it is valid; compared byte by byte.
        let same = try dir.write("same.conf", "package_name p\nfs_name /dev/sdb1\nfs_directory \(nfc)\nXFS \"-o fsid=1 *:\(nfc)\"\n")
        #expect(errors(same) == [])
        let c = try PackageLoader.load(same, installation: installation)
        #expect(c.fileSystem(containing: nfc + "/sub")?.directory == nfc)
        #expect(c.fileSystem(containing: "/srv/caf") == nil)
        #expect(c.fileSystem(containing: nfc + "x") == nil)
    }

    @Test func anAttributeSetTwiceNamesBothLines() throws {
        let dir = try Scratch()
        let path = try dir.write(
            "pkg.conf",
            """
            package_name p
            package_name q
            tkit/nfs/nfs/LOCK_MIGRATION YES
            tkit/nfs/nfs/LOCK_MIGRATION NO
            fs_name /dev/sdb1
            fs_directory /srv/a
            fs_type ext4
            fs_type xfs
            """)
        #expect(errors(path) == [
            "\(path):2: package_name: set twice (first at line 1): remove one",
            // The first setting stands.
            "\(path):3: NFS_FLM_HOLDING_DIR: lock migration is on but there is no holding directory",
            "\(path):4: tkit/nfs/nfs/LOCK_MIGRATION: set twice (first at line 3): remove one",
            "\(path):8: fs_type: set twice (first at line 7): remove one",
        ])
        let legacy = try dir.write("p/hanfs.conf", "PACKAGE_NAME=p\nPACKAGE=q\n")
        #expect(errors(legacy) == ["\(legacy):2: PACKAGE: set twice (first at line 1): remove one"])
    }

    @Test func crlfLineEndsReadAsWritten() throws {
        let dir = try Scratch()
        let path = try dir.write(
            "pkg.conf", "package_name p\r\nfs_name /dev/sdb1\r\nfs_directory /srv/a\r\nXFS \"-o fsid=1 *:/srv/a\"\r\n")
        let c = try PackageLoader.load(path, installation: installation)
        #expect(c.name == "p")
        #expect(c.fileSystems.first?.directory == "/srv/a")
        #expect(c.exports.first?.directory == "/srv/a")
        let bad = try dir.write("bad.conf", "package_name p\r\nfs_name /dev/sdb1\r\nfs_directory srv/a\r\n")
        #expect(errors(bad) == ["\(bad):3: fs_directory: \"srv/a\" is not an absolute path"])
    }

    @Test func invalidUTF8IsNamedByLine() throws {
        let dir = try Scratch()
        let path = dir.path + "/pkg.conf"
        var bytes = Array("package_name p\nfs_name /dev/sdb1\nfs_directory /srv/".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\n".utf8)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(errors(path) == ["\(path):3: not valid UTF-8 (at character 19): a package file is UTF-8 text"])
        let native = dir.path + "/pkg.lua"
        FileManager.default.createFile(
            atPath: native,
            contents: Data(Array("package { name = 'p' }\nfilesystem { device = '/dev/sdb1', directory = '/srv/\\xff' }\n".utf8)))
        #expect(errors(native) == ["\(native):2: bad argument #1 to 'filesystem' (field 'directory': a string that is not valid UTF-8)"])
    }

    @Test func whatIsNotAFileIsSaidForWhatItIs() throws {
        let dir = try Scratch()
        try FileManager.default.createDirectory(atPath: dir.path + "/adir.conf", withIntermediateDirectories: true)
        #expect(errors(dir.path + "/adir.conf") == ["\(dir.path)/adir.conf: is a directory, not a regular file"])
        #expect(errors("/dev/null") == ["/dev/null: is a character device, not a regular file"])
        #expect(mkfifo(dir.path + "/fifo.conf", 0o600) == 0)
        // A FIFO with no writer would block the read for ever.
        #expect(errors(dir.path + "/fifo.conf") == ["\(dir.path)/fifo.conf: is a FIFO (named pipe), not a regular file"])
        #expect(errors(dir.path + "/fifo.lua") == ["\(dir.path)/fifo.lua: no such file"])
        #expect(mkfifo(dir.path + "/fifo.lua", 0o600) == 0)
        #expect(errors(dir.path + "/fifo.lua") == ["\(dir.path)/fifo.lua: is a FIFO (named pipe), not a regular file"])
    }

    @Test func aClientSpecIsNeverAnOptionNorAComment() throws {
        let dir = try Scratch()
        let native = try dir.write(
            "pkg.lua",
            """
            package { name = "p" }
            filesystem { device = "/dev/sdb1", directory = "/srv/a" }
            export { directory = "/srv/a", clients = "-v", fsid = 1 }
            export { directory = "/srv/a", clients = "host#x", fsid = 1 }
            """)
        #expect(errors(native) == [
            "\(native):3: export.clients: client \"-v\" begins with '-': a host, address, network or @netgroup expected",
            "\(native):4: export.clients: \"host#x\" contains '#', a shell metacharacter; none belongs here",
        ])
        let ganesha = try dir.write(
            "g.conf", "package_name g\nnfs_server ganesha\nfs_name /dev/sdb1\nfs_directory /srv/a\nXFS \"-o fsid=1 host[0-9]:/srv/a\"\n")
        #expect(errors(ganesha) == [
            "\(ganesha):5: XFS: client host[0-9]: NFS-Ganesha takes *, host names, addresses, networks and @netgroups, not ? or [ ] patterns"
        ])
    }

    @Test func ganeshaAttributesAreNamedAsWrittenOnTheirOwnLines() throws {
        let dir = try Scratch()
        let path = try dir.write(
            "pkg.conf",
            """
            package_name p
            nfs_server ganesha
            fs_name /dev/sdb1
            fs_directory /srv/a
            ganesha_lease_lifetime 150
            ganesha_recovery_dir /srv/a/.g
            ganesha_grace_period 200
            XFS "-o fsid=70000 *:/srv/a"
            """)
        #expect(errors(path) == [
            "\(path):5: ganesha_lease_lifetime: 1 to 120 s (NFS-Ganesha's limits)",
            "\(path):7: ganesha_grace_period: at most 180 s (NFS-Ganesha's limit)",
            "\(path):8: XFS: fsid 70000: NFS-Ganesha's Export_Id is 1 to 65535",
        ])
        let legacy = try dir.write("q/hanfs.conf", "NFS_SERVER=ganesha\nLV[0]=/dev/sdb1\nFS[0]=/srv/a\nGANESHA_GRACE_PERIOD=30\n")
        #expect(errors(legacy) == [
            "\(legacy):4: GANESHA_GRACE_PERIOD: the grace period (30.0 s) is shorter than the lease (60.0 s): clients could not reclaim in time"
        ])
    }

    /// The kernel server the package runs: the kernel's limits, a scope a
    /// host name can hold, the records on the package's storage; each named
    /// at the line and attribute as written.
    @Test func kernelServerAttributesAreNamedAsWritten() throws {
        let dir = try Scratch()
        let path = try dir.write(
            "pkg.conf",
            """
            package_name p
            kernel_manage yes
            fs_name /dev/sdb1
            fs_directory /srv/a
            kernel_lease_time 5
            kernel_scope "two words"
            kernel_recovery_dir /var/lib/nfs/nfsdcld
            XFS "-o fsid=1 *:/srv/a"
            kernel_nlm_grace_time 300
            """)
        #expect(errors(path) == [
            "\(path):5: kernel_lease_time: 10 to 3600 s (the kernel's limits)",
            "\(path):6: kernel_scope: two words: a host name (at most 64 bytes, no spaces or /) expected",
            "\(path):7: kernel_recovery_dir: /var/lib/nfs/nfsdcld is on none of the package's file systems: it must move with the package",
            "\(path):9: kernel_nlm_grace_time: 10 to 240 s (lockd's limits)",
        ])
        let native = try dir.write("k.lua", """
            package { name = "p", kernel = { manage = true, grace_time = 20, lease_time = 30 } }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 1 }
            """)
        #expect(errors(native) == [
            "\(native):1: package.kernel.grace_time: the grace period (20.0 s) is shorter than the lease (30.0 s): clients could not reclaim in time",
            "\(native):1: package.kernel.manage: the kernel server's NFSv4 client records need a package file system",
        ])
        // Without manage, the node's own service runs the server: nothing of it is checked.
        let unmanaged = try dir.write("u.lua", """
            package { name = "p", kernel = { lease_time = 5 } }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 1 }
            """)
        #expect(errors(unmanaged).isEmpty)
    }
}
