import ArgumentParser
import LineEditing
import Foundation
import Actions
import HostBindings
import LuaRuntime
import Logging

struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An interactive Lua prompt with the host primitives.",
        discussion: """
            As `lua`: an expression prints its value, an unfinished statement \
            continues on the next line (>>), Ctrl-C stops what runs and returns \
            to the prompt, Ctrl-D leaves. Tab completes globals, primitives and \
            fields. History is kept in $HANFS_HISTORY (default ~/.hanfs_history). \
            help() lists the primitives, help(name) tells one, help(pkg) the package's fields. Log lines below \
            warning (each command run) stay off the screen unless --log-level says otherwise, or log_level("info").
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Lua memory, in MiB, before a line is stopped.")
    var memoryLimit: Int = 512

    @Option(help: "A package file: its table is `pkg`, its settings the primitives' defaults.")
    var config: String?

    func run() throws {
        // The results, not the commands that looked: unless asked for, log lines below warning stay quiet.
        let context = global.context(consoleLevel: global.logLevel == nil ? .warning : nil)
        context.startLogging(nil)
        let package = try config.map { try PackageOptions(config: $0).load(context) }
        let host = try ActionPipeline(context).host(package: package)
        do {
            try host.loadHooks(limits: RunLimits(deadline: 60, memory: memoryLimit << 20))
        } catch {
            Console.write("hanfs: \(error.report)\n", to: .standardError)
        }
        host.lua.register("log_level") { call in
            let name = try call.string(1)
            guard let level = Logger.Level(rawValue: name) else {
                throw HostError("log_level: trace, debug, info, notice, warning, error or critical")
            }
            ConsoleLogHandler.override.withLock { $0 = level }
            return 0
        }
        let session = ReplSession(host.lua)
        let editor = LineEditor(session: session)
        Signals.catchInterrupts(true)
        defer { Signals.catchInterrupts(false) }
        if editor.interactive {
            Console.write("\(Hanfs.configuration.version) - Ctrl-D to leave\n", to: .standardOutput)
        }
        let limits = RunLimits(memory: memoryLimit << 20)
        while true {
            Signals.clear()
            guard let line = editor.read(prompt: session.isContinuing ? ">> " : "> ") else {
                if Signals.pending == SIGINT {
                    // Ctrl-C at the prompt: drop the half-typed statement.
                    session.reset()
                    Console.write("\n", to: .standardOutput)
                    continue
                }
                break
            }
            switch session.feed(line, limits: limits) {
            case .incomplete:
                continue
            case .values(let values):
                editor.remember(session.lastStatement ?? line)
                if !values.isEmpty { Console.write(values.joined(separator: "\t") + "\n", to: .standardOutput) }
            case .failed(let error):
                editor.remember(session.lastStatement ?? line)
                // After the terminal's ^C, start a line of our own.
                let lead = error.kind == .interrupted && editor.interactive ? "\n" : ""
                Console.write(lead + error.report + "\n", to: .standardError)
            }
        }
        if editor.interactive { Console.write("\n", to: .standardOutput) }
    }
}

/// libedit's readline on a terminal, with history and completion; plain lines otherwise.
final class LineEditor {
    let interactive: Bool

    /// The session completion asks; one REPL per process.
    nonisolated(unsafe) private static var session: ReplSession?

    init(session: ReplSession) {
        interactive = isatty(0) != 0 && isatty(1) != 0
        guard interactive else { return }
        Self.session = session
        let env = ProcessInfo.processInfo.environment
        let historyFile = env["HANFS_HISTORY"] ?? env["HOME"].map { "\($0)/.hanfs_history" }
        le_setup(
            strdup("hanfs"), historyFile,
            { word in
                guard let word, let session = LineEditor.session else { return nil }
                let words = session.completions(for: String(cString: word))
                guard !words.isEmpty else { return nil }
                // malloc'd, as libedit frees them with free()
                let array = malloc(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * (words.count + 1))!
                    .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: words.count + 1)
                for (i, w) in words.enumerated() { array[i] = strdup(w) }
                array[words.count] = nil
                return array
            })
    }

    /// A line, or nil at end of input (Ctrl-D) or on Ctrl-C (Signals.pending says which).
    func read(prompt: String) -> String? {
        guard interactive else { return readLine(strippingNewline: true) }
        guard let raw = le_readline(prompt) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    func remember(_ entry: String) {
        guard interactive, !entry.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        le_remember(entry)
    }
}
