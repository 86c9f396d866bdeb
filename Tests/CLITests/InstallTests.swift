import Foundation
import Primitives
import TestSupport
import Testing

/// The checkout this test file is in.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite struct Installing {
    @Test func theInstalledBinaryFindsItsScriptsAndStdlibAndTheSiteDirectoryFirst() throws {
        let prefix = try Scratch()
        let install = try ProcessRunner().run(
            Command(
                ["make", "-C", repository, "install-files", "PREFIX=\(prefix.path)", "BIN=\(hanfsBinary)"],
                timeout: 60))
        #expect(install.succeeded, "\(install.stderrText)")
        let installed = prefix.path + "/bin/hanfs"
        #expect(FileManager.default.fileExists(atPath: prefix.path + "/share/hanfs/scripts/doctor.lua"))
        #expect(FileManager.default.fileExists(atPath: prefix.path + "/share/hanfs/stdlib/pretty.lua"))

        // A module only the installed copy has proves which stdlib is used.
        try prefix.write("share/hanfs/stdlib/where.lua", "return 'installed stdlib'")
        try prefix.write("share/hanfs/scripts/where.lua", "print('installed script, ' .. require('where'))")
        let run = try ProcessRunner().run(
            Command([installed, "run", "where"], timeout: 30, environment: ["HANFS_SITE_DIR": prefix.path + "/etc"]))
        #expect(run.stdoutText == "installed script, installed stdlib\n")

        // A site's own copy of a script wins over the shipped one.
        try prefix.write("etc/scripts/where.lua", "print('site copy')")
        let site = try ProcessRunner().run(
            Command([installed, "run", "where"], timeout: 30, environment: ["HANFS_SITE_DIR": prefix.path + "/etc"]))
        #expect(site.stdoutText == "site copy\n")
    }
}
