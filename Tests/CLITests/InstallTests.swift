import Foundation
import Primitives
import TestSupport
import Testing

/// The checkout this test file is in.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite struct Installing {
    /// A site's copy made by `hanfs customize` records what it was copied
    /// from; after an upgrade changed the shipped file, doctor says the copy
    /// is behind. A copy made by hand is pointed out too.
    @Test func doctorSaysWhichSiteCopiesAnUpgradeLeftBehind() throws {
        let share = try Scratch()
        let site = share.path + "/site"
        for kind in ["scripts", "stdlib"] {
            let copy = try ProcessRunner().run(Command(["cp", "-R", "\(repository)/\(kind)", share.path + "/"], timeout: 30))
            #expect(copy.succeeded)
        }
        let env = ["HANFS_HOME": share.path, "HANFS_SITE_DIR": site]
        let made = try output([hanfsBinary, "customize", "start"], environment: env)
        #expect(made.status == 0 && made.stdout == "\(site)/scripts/start.lua: a copy of the shipped one; change it there\n", "\(made.stderr)")
        #expect(try output([hanfsBinary, "customize", "start"], environment: env).status == 1)
        try share.write("site/stdlib/steps.lua", try String(contentsOfFile: share.path + "/stdlib/steps.lua", encoding: .utf8))
        func siteLines() throws -> [String] {
            let doctor = try output([hanfsBinary, "run", "doctor"], environment: env)
            return doctor.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("site ") }
        }
        var lines = try siteLines()
        #expect(lines.count == 2 && lines[0].contains("scripts/start.lua") && lines[0].contains("up to date with the shipped one"), "\(lines)")
        #expect(lines[1].contains("stdlib/steps.lua") && lines[1].contains("copied from which version is not recorded"))
        // The upgrade: the shipped start.lua changes.
        try share.write("scripts/start.lua", try String(contentsOfFile: share.path + "/scripts/start.lua", encoding: .utf8) + "-- 0.2\n")
        lines = try siteLines()
        #expect(lines[0].contains("BEHIND: copied from hanfs ") && lines[0].contains("compare it with \(share.path)/scripts/start.lua"), "\(lines)")
    }

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
