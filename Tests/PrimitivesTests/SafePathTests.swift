import Foundation
import Primitives
import SafeFiles
import TestSupport
import Testing

/// What NFS clients can plant in an exported file system, and what hanfs
/// does not let it change: links on the way to a mount point or an export,
/// a link at the NFSv4 recovery directory, a hard link at the probe's status file.
@Suite struct PlantedLinks {
    @Test func aLinkOnTheWayToAMountPointOrAnExportIsRefused() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/srv/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc", withIntermediateDirectories: true)
        symlink(scratch.path + "/etc", scratch.path + "/srv/a/b")
        #expect(throws: FileProblem("mount point \(scratch.path)/srv/a/b/c: \(scratch.path)/srv/a/b is a symbolic link, which hanfs does not follow here")) {
            try LinkFreePath.check(scratch.path + "/srv/a/b/c", "mount point")
        }
        try LinkFreePath.check(scratch.path + "/srv/a/new/deeper", "mount point")
        try scratch.write("srv/file", "x")
        #expect(throws: FileProblem("export \(scratch.path)/srv/file/x: \(scratch.path)/srv/file is not a directory")) {
            try LinkFreePath.check(scratch.path + "/srv/file/x", "export")
        }
    }

    @Test func theRecoveryDirectoryIsMadeWithoutFollowingALink() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/fs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.path + "/etc", withIntermediateDirectories: true)
        let top = try Directory(scratch.path + "/fs", "the package file system")
        let made = try top.subdirectory(".ganesha/v4recov")
        #expect(made.path == scratch.path + "/fs/.ganesha/v4recov")
        #expect(FileManager.default.fileExists(atPath: made.path))
        symlink(scratch.path + "/etc", scratch.path + "/fs/.evil")
        #expect(throws: FileProblem.self) { try top.subdirectory(".evil/v4recov") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/etc").isEmpty)
    }

    @Test func aFreshStateNumberNeverWritesThroughAPlantedLink() throws {
        // The state directory belongs to the statd user on Red Hat: it can
        // plant a hard link under the name hanfs writes aside.
        let scratch = try Scratch()
        let precious = try scratch.write("precious", "root:$6$secret:19000:0:99999:7:::\n")
        try FileManager.default.createDirectory(atPath: scratch.path + "/statd", withIntermediateDirectories: true)
        #expect(link(precious, scratch.path + "/statd/.state.hanfs-\(getpid())") == 0)
        symlink(precious, scratch.path + "/statd/state")
        let value = try StatusDaemon.freshState(scratch.path + "/statd")
        #expect(value % 2 == 0)
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "root:$6$secret:19000:0:99999:7:::\n")
        let state = try #require(FileManager.default.contents(atPath: scratch.path + "/statd/state"))
        #expect(state.count == 4)
        #expect(state.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == value)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/statd") == ["state"])
    }

    @Test func theProbeNeverWritesThroughALinkAtItsStatusFile() throws {
        let scratch = try Scratch()
        let device = try scratch.write("device", String(repeating: "d", count: 8192))
        let precious = try scratch.write("fs/precious", "a client's data\n")
        #expect(link(precious, scratch.path + "/fs/" + FileSystemProbe.statusFile) == 0)
        try FileSystemProbe().probe(device: device, directory: scratch.path + "/fs", timeout: 5)
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "a client's data\n")
        let status = try String(contentsOfFile: scratch.path + "/fs/" + FileSystemProbe.statusFile, encoding: .utf8)
        #expect(status.hasPrefix("hanfs monitor, pid"))
        symlink(precious, scratch.path + "/fs/" + FileSystemProbe.statusFile + ".tmp")
        try FileSystemProbe().probe(device: device, directory: scratch.path + "/fs", timeout: 5)
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "a client's data\n")
    }
}
