import ArgumentParser
import Foundation
import Synchronization
import Lab
import Actions
import HostBindings
import Logging
import PackageConfig
import LuaRuntime
import Primitives

@main
struct Hanfs: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "hanfs",
        abstract: "Run the control scripts of a highly available NFS package.",
        discussion: """
            Options of every command: --dry-run (run nothing: print the plan), --log-level LEVEL (trace to \
            critical; default info), --site-dir DIR (the site's scripts and stdlib, searched first; default \
            /etc/hanfs). They may come before the command. `hanfs help COMMAND` tells more; man pages hanfs(8) and \
            hanfs.conf(5).

            Exit status: 0 success; 1 failure (a script error, its deadline or an \
            interrupt; a start that was rolled back; a stop that could not finish; \
            the package busy with another start or stop); 6 configuration error \
            (nothing was done); 64 bad usage. The first line on stderr says why.
            """,
        version: "hanfs \(version) (\(LuaState.luaVersion))",
        subcommands: [
            Start.self, Stop.self, Status.self, Validate.self, LockMigrate.self, Monitor.self, Run.self, Repl.self, Customize.self, Import.self, Flm.self,
            Serviceguard.self, Pacemaker.self, LabCommand.self, LabClient.self, LabAgent.self, StatdCallout.self, Doc.self,
            Announce.self, WithHostName.self,
        ]
    )

    static func main() {
        // Run by rpc.statd as its callout, through a link of that name.
        if (CommandLine.arguments.first?.split(separator: "/").last).map(String.init) == StatusDaemon.calloutName {
            // statd passes only `EVENT MON_NAME CALLER ...`: never options,
            // whatever a client's name begins with ("-x" is a name here).
            StatdCallout.main(["--"] + Array(CommandLine.arguments.dropFirst()))
            Glibc.exit(0)  // main returns on success
        }
        // The lab's fence agent, as Pacemaker's fencer runs it (a link of that
        // name in the lab's nodes), or `hanfs lab-fence` by hand.
        if (CommandLine.arguments.first?.split(separator: "/").last).map(String.init) == LabFenceAgent.name
            || CommandLine.arguments.dropFirst().first == "lab-fence"
        {
            let input = isatty(0) == 1 ? "" : String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            let (status, output) = LabFenceAgent.run(arguments: Array(CommandLine.arguments.dropFirst()), input: input)
            Console.write(output, to: .standardOutput)
            Glibc.exit(status)
        }
        var arguments = GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        // In the place of the NFS toolkit's hanfs.sh (a link of that name):
        // `hanfs.sh start` is `hanfs serviceguard start`, with hanfs.conf beside it.
        if Serviceguard.legacyDirectory != nil {
            arguments = ["serviceguard"] + arguments
        }
        // Pacemaker's resource agent: a link in /usr/lib/ocf/resource.d/hanfs/.
        if let argv0 = CommandLine.arguments.first, Pacemaker.isAgent(argv0) {
            arguments = ["ocf"] + arguments
        }
        // The commands a cluster manager runs at every failover, parsed
        // alone: parsing from the root reflects over every subcommand, which
        // cost more than the rest of an idle start. Help and mistakes take
        // the whole tree, for the full messages.
        if let name = arguments.first, let command = fastPath[name],
            !arguments.contains(where: { ["-h", "--help", "--version", "help"].contains($0) }),
            var parsed = try? command.parse(Array(arguments.dropFirst()))
        {
            do {
                try parsed.run()
                Glibc.exit(0)
            } catch {
                Self.exit(withError: error)
            }
        }
        main(arguments)
    }

    static let fastPath: [String: any ParsableCommand.Type] = [
        "start": Start.self, "stop": Stop.self, "status": Status.self, "validate": Validate.self, "run": Run.self,
        "monitor": Monitor.self, "ocf": Pacemaker.self, "serviceguard": Serviceguard.self,
    ]
}

/// Exit statuses, the same for every subcommand (0 success, 64 bad usage).
enum ExitStatus {
    static let failure: Int32 = 1
    /// The package file is wrong: nothing was done, and trying again elsewhere will not help.
    static let configuration: Int32 = 6
}

/// The options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Run nothing: print the plan, every command in order with its exact argv.")
    var dryRun = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info; the REPL: warning).")
    var logLevel: Logger.Level?

    @Option(help: "The site directory, searched before the shipped scripts and stdlib.")
    var siteDir: String?

    /// Global flags may come before the subcommand (`hanfs --dry-run run x`):
    /// they are moved to just after it, where the subcommand parses them.
    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        let flags: Set<String> = ["--dry-run"]
        let withValue: Set<String> = ["--log-level", "--site-dir"]
        var global: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            let name = String(a.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(a) || (withValue.contains(name) && a.contains("=")) {
                global.append(a)
                i += 1
            } else if withValue.contains(a) && i + 1 < arguments.count {
                global += [a, arguments[i + 1]]
                i += 2
            } else {
                break
            }
        }
        guard !global.isEmpty, i < arguments.count, !arguments[i].hasPrefix("-") else { return arguments }
        return [arguments[i]] + global + arguments[(i + 1)...]
    }

    /// The context every action of this process runs in, built here from
    /// the options and the environment, and nowhere below. `nodeName`, from
    /// a cluster manager (SG_NODE, the OCF `node` parameter), wins over
    /// HANFS_NODE. Logging goes to stderr, and to the package's log file
    /// when the action writes one.
    func context(nodeName: String? = nil, consoleLevel: Logger.Level? = nil) -> HanfsContext {
        let environment = ProcessInfo.processInfo.environment
        var settings = NodeSettings.from(environment: environment)
        if let nodeName { settings.nodeName = nodeName }
        var installation = Installation.locate(environment: environment)
        if let siteDir { installation.siteDirectory = siteDir }
        let level = logLevel ?? .info
        let console = max(consoleLevel ?? level, level)
        return HanfsContext(settings: settings, installation: installation, planning: dryRun) { packageLog in
            // Once per process (swift-log's rule): a command that runs a second action keeps the first's.
            guard loggingStarted.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            // What a script prints is output, not a log line: no level hides it.
            LoggingSystem.bootstrap { label in
                let stderr = ConsoleLogHandler(label: label, level: label == LogLabel.print ? .trace : console)
                guard let packageLog, label != LogLabel.print else { return stderr }
                return MultiplexLogHandler([stderr, PackageLogHandler(label: label, target: packageLog, level: min(level, .info))])
            }
        }
    }
}

/// Whether this process has set up its logging.
let loggingStarted = Atomic(false)

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A number of seconds given on the command line: finite and positive; 0
/// only where it is documented to mean "no limit". Anything else (a
/// negative number, nan, inf) is refused rather than read as "no limit".
enum Seconds {
    static func positive(_ text: String) throws -> Double { try parse(text, zeroMeansNone: false) }
    static func orNone(_ text: String) throws -> Double { try parse(text, zeroMeansNone: true) }

    static func parse(_ text: String, zeroMeansNone: Bool) throws -> Double {
        guard let value = Double(text), value.isFinite, value > 0 || (zeroMeansNone && value == 0) else {
            throw ValidationError(
                "\"\(text)\" is not a number of seconds: a positive finite number expected\(zeroMeansNone ? " (0: no limit)" : "")")
        }
        return value
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Lua script with the host primitives.",
        discussion: """
            SCRIPT is a path, or a name looked up in the site's scripts/ and then \
            the shipped ones (`hanfs run start`). Arguments after it go to the \
            script, as `...` and as `arg`.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Seconds the whole run may take before it is stopped.", transform: Seconds.positive)
    var deadline: Double = 3600

    @Option(help: "Lua memory, in MiB, before the run is stopped.")
    var memoryLimit: Int = 512

    @Option(help: "A package file: the script sees it as `pkg`, and the primitives take its settings.")
    var config: String?

    @Argument(help: "The script: a path or a name.")
    var script: String

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the script.")
    var arguments: [String] = []

    func run() throws {
        var action = Action(script: script, configPath: config, deadline: deadline)
        action.display = script.contains("/") ? script : nil
        action.memoryLimit = memoryLimit << 20
        action.arguments = arguments
        try ActionRunner(global: global).perform(action).outcome.exit()
    }
}

/// The --dry-run plan on stdout.
enum DryRunPlan {
    static func print(_ plan: DryRun) {
        var text = ""
        if !plan.assumptions.isEmpty {
            text += "assuming, as this node is not yet as a run would find it:\n"
            for what in plan.assumptions { text += "- \(what)\n" }
        }
        text += "plan: \(plan.commands.count) command\(plan.commands.count == 1 ? "" : "s")\n"
        for (i, c) in plan.commands.enumerated() {
            text += "\(i + 1). \(c)    (\(c.background ? "in the background, " : "")timeout \(CommandResult.seconds(c.timeout)))\n"
        }
        if !plan.changes.isEmpty {
            text += "and \(plan.changes.count) change\(plan.changes.count == 1 ? "" : "s") besides commands:\n"
            for change in plan.changes { text += "- \(change)\n" }
        }
        for file in plan.files {
            text += "\(file.path) would read:\n" + file.text.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }.joined(separator: "\n") + "\n"
        }
        Console.write(text, to: .standardOutput)
    }
}
