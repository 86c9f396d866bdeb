import Foundation
import Logging
import Synchronization
import Primitives
import TestSupport
import Testing

/// Merging the holding directory's SM entries back into the SM directory.
@Suite struct StatusMonitorEntries {
    let entry = "0100007f 000186b5 00000003 00000010 00000000000000000000000000000000 client1 nfspkg\n"

    func setTime(_ path: String, _ seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    @Test func restoreMergesKeepsNewerAndEmptiesTheHoldingDirectory() throws {
        let scratch = try Scratch()
        let holding = scratch.path + "/holding"
        let sm = scratch.path + "/sm"
        for name in ["client1", "client2", "client3"] {
            try scratch.write("holding/\(name)", entry.replacingOccurrences(of: "client1", with: name))
            setTime("\(holding)/\(name)", 1_000_000)
        }
        chmod("\(holding)/client1", 0o600)
        if getuid() == 0 { chown("\(holding)/client1", 107, 65534) }
        // client2 is known here already, and more recently than the held copy.
        try scratch.write("sm/client2", smEntry("client2", server: "newer"))
        setTime("\(sm)/client2", 2_000_000)
        // client3 here is older: the held copy replaces it.
        try scratch.write("sm/client3", smEntry("client3", server: "older"))
        setTime("\(sm)/client3", 500_000)

        let r = try StatusMonitor.restore(holding: holding, into: sm)
        #expect(r.copied == ["client1", "client3"])
        #expect(r.keptNewer == ["client2"])
        #expect(try String(contentsOfFile: "\(sm)/client1", encoding: .utf8) == entry)
        #expect(try String(contentsOfFile: "\(sm)/client2", encoding: .utf8) == smEntry("client2", server: "newer"))
        #expect(try String(contentsOfFile: "\(sm)/client3", encoding: .utf8).contains("client3 nfspkg"))
        var st = stat()
        stat("\(sm)/client1", &st)
        #expect(st.st_mode & 0o7777 == 0o600)
        #expect(st.st_mtim.tv_sec == 1_000_000)
        if getuid() == 0 { #expect(st.st_uid == 107 && st.st_gid == 65534) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: holding).isEmpty)
        // No temporary files left beside the entries.
        #expect(try FileManager.default.contentsOfDirectory(atPath: sm).sorted() == ["client1", "client2", "client3"])
    }

    @Test func symbolicLinksAreNeverFollowed() throws {
        let scratch = try Scratch()
        let holding = scratch.path + "/holding"
        let sm = scratch.path + "/sm"
        let secret = try scratch.write("secret", "do not copy\n")
        let victim = try scratch.write("victim", "do not overwrite\n")
        try scratch.write("holding/client1", entry)
        try FileManager.default.createDirectory(atPath: sm, withIntermediateDirectories: true)
        // A link in the holding directory is skipped and left there.
        symlink(secret, "\(holding)/evil")
        // A link in the SM directory under an entry's name is replaced, not written through.
        symlink(victim, "\(sm)/client1")
        let r = try StatusMonitor.restore(holding: holding, into: sm)
        #expect(r.copied == ["client1"])
        #expect(r.skipped == ["evil"])
        #expect(!FileManager.default.fileExists(atPath: "\(sm)/evil"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "do not overwrite\n")
        var st = stat()
        lstat("\(sm)/client1", &st)
        #expect(st.st_mode & S_IFMT == S_IFREG)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(holding)/evil") == secret)
    }

    @Test func onlyFilesShapedLikeAnSMEntryAreCopied() throws {
        let scratch = try Scratch()
        let holding = scratch.path + "/holding"
        let sm = scratch.path + "/sm"
        try scratch.write("holding/client1", entry)
        // What an NFS client could drop in the holding directory, on the exported file system.
        try scratch.write("holding/shadow", "root:$6$secret:19000:0:99999:7:::\n")
        try scratch.write("holding/big", String(repeating: entry, count: 100))
        try FileManager.default.createDirectory(atPath: sm, withIntermediateDirectories: true)
        let r = try StatusMonitor.restore(holding: holding, into: sm)
        #expect(r.copied == ["client1"])
        #expect(r.skipped.sorted() == ["big", "shadow"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sm) == ["client1"])
        #expect(StatusMonitor.isEntry(Array(entry.utf8)))
        #expect(!StatusMonitor.isEntry(Array("0100007f 000186b5 00000003 00000010 0 client1 nfspkg\n".utf8)))
    }

    @Test func aPlanChangesNothing() throws {
        let scratch = try Scratch()
        try scratch.write("holding/client1", entry)
        try FileManager.default.createDirectory(atPath: scratch.path + "/sm", withIntermediateDirectories: true)
        let plan = Effects(planning: true, logger: Logger(label: "test"))
        let r = try StatusMonitor.restore(holding: scratch.path + "/holding", into: scratch.path + "/sm", effects: plan)
        #expect(r.copied == ["client1"])
        // What it would have done is said, and recorded.
        #expect(plan.changes == [
            "copy SM entry client1 from \(scratch.path)/holding into \(scratch.path)/sm", "remove \(scratch.path)/holding/client1",
        ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/sm").isEmpty)
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/holding/client1"))
    }

    @Test func theDirectoryIsFoundWhereTheDistributionKeepsIt() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/sm", withIntermediateDirectories: true)
        symlink(scratch.path + "/sm", scratch.path + "/link")
        #expect(StatusMonitor.detectDirectory([scratch.path + "/none", scratch.path + "/link", scratch.path + "/sm"]) == scratch.path + "/sm")
        #expect(StatusMonitor.detectDirectory([scratch.path + "/none"]) == nil)
    }
}

@Suite struct HoldingDirectoryMistakes {
    @Test func missingNotADirectoryOrALink() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/sm", withIntermediateDirectories: true)
        let file = try scratch.write("file", "x")
        symlink(scratch.path + "/sm", scratch.path + "/link")
        for (holding, problem) in [
            (scratch.path + "/none", "is missing"), (file, "is not a directory"), (scratch.path + "/link", "is a symbolic link"),
        ] {
            #expect {
                try StatusMonitor.restore(holding: holding, into: scratch.path + "/sm")
            } throws: { error in
                "\(error)".contains("the holding directory \(holding) \(problem)")
            }
        }
    }
}

/// The running sync and a directory swapped under it (the SM directory
/// replaced by a link to /etc by whoever can write its parent).
@Suite struct SwappedDirectories {
    @Test func theSyncStopsWhenTheSMDirectoryIsReplacedByALink() throws {
        let scratch = try Scratch()
        let sm = scratch.path + "/nfs/sm"
        let holding = scratch.path + "/holding"
        for d in [sm, holding] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try scratch.write("nfs/sm/client1", smEntry("client1"))
        let etc = scratch.path + "/etc"
        try scratch.write("etc/shadow", "root:$6$secret:19000:0:99999:7:::\n")
        try scratch.write("etc/client9", smEntry("client9"))
        let log = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let finished = Thread.detachedResult { () -> String? in
            let sync = HoldingSync(sm: sm, holding: holding, interval: 0.05) { line in log.withLock { $0.append(line) } }
            do {
                try sync.run(shouldStop: { stop.load(ordering: .relaxed) })
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(eventually(timeout: 2) { FileManager.default.fileExists(atPath: holding + "/client1") ? true : nil } == true)
        // The swap: the SM directory moved away, a link to "/etc" in its place.
        rename(sm, scratch.path + "/nfs/sm.old")
        symlink(etc, sm)
        try scratch.write("nfs/sm.old/client2", smEntry("client2"))
        let why = try finished.value()
        stop.store(true, ordering: .relaxed)
        #expect(why?.contains("was moved or removed while the sync ran: stopped") == true || why?.contains("was replaced") == true, "\(String(describing: why))")
        let copied = try FileManager.default.contentsOfDirectory(atPath: holding)
        #expect(!copied.contains("shadow"))
        #expect(!copied.contains("client9"))
        // A new sync refuses the link outright.
        #expect(throws: PrimitiveError.self) { try HoldingSync(sm: sm, holding: holding, interval: 1) { _ in }.fullSync() }
    }
}

/// The one seam for changes that are not commands: a plan says and records
/// them and makes none; a run makes them.
@Suite struct EffectsSeam {
    @Test func aPlanStopsNothingAndSaysWhatItWouldStop() throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30.4242"]
        try sleeper.run()
        defer { if sleeper.isRunning { sleeper.terminate() } }
        let pid = sleeper.processIdentifier
        let service = BackgroundService(name: "the sleeper", argv: []) { $0.last == "30.4242" }
        #expect(eventually { service.processes == [pid] ? true : nil } == true)

        let plan = NodeContext(runner: RecordingRunner(), logger: Logger(label: "test"), planning: true)
        #expect(service.stop(plan, timeout: 1) == .done)
        #expect(kill(pid, 0) == 0, "a plan stopped the process")
        #expect(plan.effects.changes == ["stop the sleeper (pid \(pid))"])

        let run = NodeContext(runner: RecordingRunner(), logger: Logger(label: "test"))
        #expect(service.stop(run, timeout: 1) == .done)
        sleeper.waitUntilExit()
        #expect(!sleeper.isRunning)
        // A run does not keep its changes unless asked (a monitor runs for months).
        #expect(run.effects.changes.isEmpty)
    }
}
