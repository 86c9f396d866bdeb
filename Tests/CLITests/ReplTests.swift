import Foundation
import Primitives
import TestSupport
import Testing

/// `hanfs repl` in a real terminal: a tmux server on a socket of its own,
/// killed when the test ends, however it ends.
final class Terminal {
    let socket = "hanfs-test-\(UUID().uuidString.prefix(8))"
    let history: Scratch

    init() throws {
        history = try Scratch()
        try tmux([
            "new-session", "-d", "-s", "repl", "-x", "120", "-y", "50",
            "env HANFS_HISTORY=\(history.path)/history HANFS_SITE_DIR=/nonexistent \(hanfsBinary) repl",
        ])
        try waitFor("Ctrl-D to leave")
    }

    deinit { _ = try? tmux(["kill-server"]) }

    /// Runs a tmux command and returns what it printed (hanfs's own runner:
    /// it does not wait for the server tmux starts to close its output).
    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        try ProcessRunner().run(Command(["tmux", "-L", socket] + arguments, timeout: 10)).stdoutText
    }

    /// Types text literally (so "end" is not the End key), then presses Enter.
    func type(_ text: String, enter: Bool = true) throws {
        try tmux(["send-keys", "-t", "repl", "-l", text])
        if enter { try tmux(["send-keys", "-t", "repl", "Enter"]) }
    }

    func press(_ key: String) throws { try tmux(["send-keys", "-t", "repl", key]) }

    var screen: String { (try? tmux(["capture-pane", "-t", "repl", "-p", "-S", "-100"])) ?? "" }

    /// Waits until the screen shows `text` `count` times; fails after 10 s.
    func waitFor(_ text: String, count: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for _ in 0..<200 {
            if screen.components(separatedBy: text).count - 1 >= count { return }
            usleep(50_000)
        }
        Issue.record("the terminal never showed \(text.debugDescription):\n\(screen)", sourceLocation: sourceLocation)
        throw CancellationError()
    }
}

@Suite(.serialized) struct ReplInATerminal {
    @Test func expressionMultiLineFunctionErrorAndInterrupt() throws {
        let t = try Terminal()
        try t.type("1 + 2")
        try t.waitFor("> 1 + 2\n3\n")

        try t.type("function sq(x)")
        try t.waitFor(">>")
        try t.type("  return x * x")
        try t.type("end")
        try t.type("sq(12)")
        try t.waitFor("144\n")

        try t.type("{1, 2, name = 'a'}")
        try t.waitFor("{ 1, 2, name = \"a\" }")

        try t.type("error('boom')")
        try t.waitFor("stdin:1: boom\nstack traceback:")

        try t.type("while true do end")
        usleep(300_000)
        try t.press("C-c")
        try t.waitFor("interrupted")
        try t.type("'alive ' .. sq(3)")
        try t.waitFor("\"alive 9\"")
    }

    @Test func completionHistoryAndCtrlCAtThePrompt() throws {
        let t = try Terminal()
        try t.type("log.inf", enter: false)
        try t.press("Tab")
        try t.waitFor("log.info")
        try t.press("C-c")  // drop the half-typed line
        usleep(200_000)
        try t.type("'fresh'")
        try t.waitFor("\"fresh\"")
        try t.press("Up")  // the history brings the last entry back
        try t.press("Enter")
        try t.waitFor("\"fresh\"", count: 2)
        try t.press("C-d")
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: t.history.path + "/history") { usleep(50_000) }
        let saved = try String(contentsOfFile: t.history.path + "/history", encoding: .utf8)
        #expect(saved.contains("'fresh'"))
    }
}

/// What the troubleshooter at 3 a.m. gets: help for the package's fields,
/// and results without the log lines of the commands that looked, unless asked.
@Suite struct ReplForTheTroubleshooter {
    @Test func helpPkgAndQuietInspection() throws {
        let out = try hanfs(
            ["repl", "--config", checkoutDirectory + "/examples/nfspkg.lua"],
            input: "help(pkg)\n#addresses()\nlog_level('info')\n#addresses()\nhelp()\n")
        #expect(out.status == 0, "\(out.stderr)")
        let interval = out.stdout.split(separator: "\n").first { $0.hasPrefix("pkg.monitor.interval ") }
        #expect(interval?.contains("Seconds between the monitor's checks.") == true, "\(out.stdout)")
        #expect(out.stdout.contains("pkg.lock_migration.holding_dir") && out.stdout.contains("/srv/nfs/a/.sm"))
        // Only the second addresses() (after log_level) says what it ran.
        #expect(out.stderr.components(separatedBy: "ran: ip -o addr show").count - 1 == 1, "\(out.stderr)")
        #expect(out.stdout.contains("help(pkg): the package's fields."))
    }
}
