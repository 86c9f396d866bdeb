import Foundation
import Logging
import Primitives
import Synchronization
import TestSupport
import Testing


@Suite struct ProcessRunnerTests {
    let runner = ProcessRunner(killGrace: 0.5)

    @Test func runsArgvWithoutAShellAndCapturesOutput() throws {
        let r = try runner.run(Command(["printf", "%s|%s", "a b", "$HOME;*"], timeout: 5))
        #expect(r.succeeded)
        #expect(r.stdoutText == "a b|$HOME;*")
        #expect(r.duration > 0)
    }

    @Test func reportsExitStatusStderrAndSignals() throws {
        let r = try runner.run(Command(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 5))
        #expect(r.termination == .exited(3))
        #expect(!r.succeeded)
        #expect(r.stdoutText == "out\n")
        #expect(r.stderrTail() == "err")
        #expect(r.summary == "exited with status 3")
        let killed = try runner.run(Command(["sh", "-c", "kill -9 $$"], timeout: 5))
        #expect(killed.termination == .signaled(9))
    }

    @Test func environmentInputAndLocale() throws {
        let r = try runner.run(
            Command(["sh", "-c", "cat; echo \" $LC_ALL $EXTRA\""], timeout: 5, environment: ["EXTRA": "x"], input: Array("in".utf8)))
        #expect(r.stdoutText == "in C x\n")
        let noInput = try runner.run(Command(["cat"], timeout: 5))
        #expect(noInput.succeeded && noInput.stdout.isEmpty)  // stdin is /dev/null
    }

    @Test func largeInputAndOutputDoNotDeadlock() throws {
        let big = [UInt8](repeating: 65, count: 3 << 20)
        let r = try runner.run(Command(["cat"], timeout: 20, input: big, outputLimit: 4 << 20))
        #expect(r.stdout.count == big.count)
        let limited = try runner.run(Command(["head", "-c", "100000", "/dev/zero"], timeout: 5, outputLimit: 1000))
        #expect(limited.stdout.count == 1000)
        #expect(limited.truncated)
        #expect(limited.succeeded)
    }

    @Test func missingProgramIsAnError() {
        #expect(throws: CommandError.notFound("no-such-program-hanfs")) {
            try runner.run(Command(["no-such-program-hanfs"], timeout: 5))
        }
    }

    @Test func timeoutKillsTheWholeProcessGroupAndLeavesNothingBehind() throws {
        // A shell with a background child and a foreground child: both must go.
        let start = Date()
        let r = try runner.run(Command(["sh", "-c", "sleep 30 & sleep 31; wait"], timeout: 0.3))
        #expect(r.timedOut)
        #expect(!r.succeeded)
        #expect(r.summary.hasPrefix("timed out after"))
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(try processes(withCommandLine: "sleep 30", "sleep 31").isEmpty)
    }

    @Test func aCommandThatIgnoresTermIsKilled() throws {
        let start = Date()
        let r = try runner.run(Command(["sh", "-c", "trap '' TERM; sleep 32 & wait; sleep 32"], timeout: 0.3))
        #expect(r.timedOut)
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(try processes(withCommandLine: "sleep 32").isEmpty)
    }

    @Test func aDaemonHoldingThePipeDoesNotBlockTheResult() throws {
        let start = Date()
        let r = try runner.run(Command(["sh", "-c", "sleep 33 & echo started"], timeout: 10))
        #expect(r.succeeded)
        #expect(r.stdoutText == "started\n")
        #expect(Date().timeIntervalSince(start) < 2)
        for pid in try processes(withCommandLine: "sleep 33") { kill(pid, SIGKILL) }
    }

    @Test func aStopRequestEndsTheCommandAndThrows() throws {
        let stop = Atomic<Bool>(false)
        let runner = ProcessRunner(killGrace: 0.5, shouldStop: { stop.load(ordering: .relaxed) })
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { stop.store(true, ordering: .relaxed) }
        let start = Date()
        #expect(throws: CommandError.interrupted("sleep")) { try runner.run(Command(["sleep", "34"], timeout: 30)) }
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(try processes(withCommandLine: "sleep 34").isEmpty)
    }
}

@Suite struct RecordingAndLogging {
    @Test func recordingRunnerKeepsExactArgvAndRunsNothing() throws {
        let recorder = RecordingRunner { c in c.argv[0] == "vgs" ? .exited(0, stdout: "vg0\n") : .exited(0) }
        _ = try recorder.run(Command(["touch", "/nonexistent/hanfs-should-not-exist"], timeout: 5))
        let vgs = try recorder.run(Command(["vgs", "--noheadings"], timeout: 5))
        #expect(recorder.argvs == [["touch", "/nonexistent/hanfs-should-not-exist"], ["vgs", "--noheadings"]])
        #expect(vgs.stdoutText == "vg0\n")
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/hanfs-should-not-exist"))
    }

    @Test func everyCommandIsLoggedWithArgvStatusAndDuration() throws {
        let capture = CapturingHandler()
        let logger = Logger(label: "test") { _ in capture }
        let runner = LoggingRunner(ProcessRunner(), logger: logger)
        _ = try runner.run(Command(["true"], timeout: 5))
        _ = try runner.run(Command(["sh", "-c", "echo bad thing >&2; exit 2"], timeout: 5))
        #expect(throws: CommandError.self) { try runner.run(Command(["no-such-program-hanfs"], timeout: 5)) }
        let events = capture.events
        #expect(events.count == 3)
        #expect(events[0].level == .info)
        #expect(events[0].metadata["argv"] == .array(["true"]))
        #expect(events[0].metadata["status"] == "exited with status 0")
        #expect(events[0].metadata["duration_ms"] != nil)
        #expect(events[1].level == .warning)
        #expect(events[1].metadata["status"] == "exited with status 2")
        #expect(events[1].metadata["stderr"] == "bad thing")
        #expect(events[1].message.contains("sh -c 'echo bad thing >&2; exit 2'"))
        #expect(events[2].level == .error)
    }

    @Test func displayQuotingIsForPeopleOnly() {
        let c = Command(["exportfs", "-o", "rw,fsid=101", "*:/srv/nfs/a b", "it's"], timeout: 1)
        #expect(c.description == "exportfs -o rw,fsid=101 '*:/srv/nfs/a b' 'it'\\''s'")
        #expect(c.argv.count == 5)
    }
}

final class CapturingHandler: LogHandler, @unchecked Sendable {
    struct Event {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }
    private let lock = NSLock()
    private var stored: [Event] = []
    var events: [Event] { lock.withLock { stored } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        lock.withLock { stored.append(Event(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])) }
    }
}

/// The file-system probe is bounded: I/O that does not return (here a FIFO
/// nobody writes to stands for a device that stopped answering) costs the
/// timeout, and is not started again while it hangs.
@Suite struct FileSystemProbeTests {
    @Test func answersAndHangsWithinItsTimeout() throws {
        let scratch = try Scratch()
        let device = try scratch.write("disk.img", String(repeating: "x", count: 8192))
        try FileManager.default.createDirectory(atPath: "\(scratch.path)/fs", withIntermediateDirectories: true)
        let probe = FileSystemProbe()
        try probe.probe(device: device, directory: "\(scratch.path)/fs", timeout: 2)
        #expect(try String(contentsOfFile: "\(scratch.path)/fs/.hanfs-monitor", encoding: .utf8).hasPrefix("hanfs monitor, pid "))

        let dead = "\(scratch.path)/dead"
        #expect(mkfifo(dead, 0o600) == 0)
        let started = Date()
        #expect(throws: PrimitiveError("I/O to \("\(scratch.path)/fs") did not return within 300 ms")) {
            try probe.probe(device: dead, directory: "\(scratch.path)/fs", timeout: 0.3)
        }
        #expect(Date().timeIntervalSince(started) < 1)
        let again = #expect(throws: PrimitiveError.self) { try probe.probe(device: dead, directory: "\(scratch.path)/fs", timeout: 0.3) }
        #expect(again?.description.contains("has not returned for") ?? false, "\(String(describing: again))")
        #expect(Date().timeIntervalSince(started) < 1, "a hanging probe is not waited for again")
        // The I/O returns (a writer holds the FIFO open): the probe runs again.
        let writer = open(dead, O_RDWR)
        defer { close(writer) }
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? probe.probe(device: device, directory: "\(scratch.path)/fs", timeout: 2)) != nil
            if !answered { usleep(20_000) }
        }
        #expect(answered)
    }
}
