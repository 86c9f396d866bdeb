import ArgumentParser
import Foundation
import Actions
import HostBindings
import Logging
import LuaRuntime
import PackageConfig
import Primitives
import SafeFiles

/// The options of the commands that act on a package.
struct PackageOptions: ParsableArguments {
    @Option(help: "The package file: native Lua (.lua), a Serviceguard modular package file, or legacy hanfs.conf variables.")
    var config: String

    init() {}
    init(config: String) { self.config = config }

    /// The package, or exit 6 with every mistake on stderr.
    func load(_ context: HanfsContext) throws -> PackageConfiguration {
        switch ActionPipeline(context).load(config) {
        case .success(let package): return package
        case .failure(let outcome):
            for message in outcome.messages { Console.write("hanfs: \(message)\n", to: .standardError) }
            throw ExitCode(ExitStatus.configuration)
        }
    }
}

/// Hands an action to the pipeline with this command line's context,
/// writes its plan (a dry run) and messages, and returns the outcome.
struct ActionRunner {
    var global: GlobalOptions
    /// The node's name as a cluster manager gives it (SG_NODE, the OCF
    /// `node` parameter); nil: HANFS_NODE, else the kernel's node name.
    var nodeName: String?
    /// The least level of log line shown on stderr (nil: --log-level's).
    var consoleLevel: Logger.Level?
    /// Whether the outcome's messages stay off stderr (the front end says them its own way).
    var quiet = false

    func perform(_ action: Action) -> ActionRun {
        let context = global.context(nodeName: nodeName, consoleLevel: consoleLevel)
        let run = ActionPipeline(context).perform(action)
        if let plan = run.dryRun { DryRunPlan.print(plan) }
        if !quiet { for message in run.outcome.messages { Console.write("hanfs: \(message)\n", to: .standardError) } }
        return run
    }
}

extension ActionOutcome {
    /// The plain commands' exit status: 0, 6 for a wrong package file, else 1.
    func exit() throws {
        switch self {
        case .done: return
        case .configuration: throw ExitCode(ExitStatus.configuration)
        case .notInstalled, .busy, .failed: throw ExitCode(ExitStatus.failure)
        }
    }
}

/// start, stop, the monitor, lock migration: a control script on a package,
/// exit status 0, 1, or 6 for a wrong package file.
protocol PackageAction: ParsableCommand {
    static var script: String { get }
    var global: GlobalOptions { get }
    var package: PackageOptions { get }
    var deadline: Double { get }
    /// Whether the run holds the package's lock (start, stop; not the monitor,
    /// which runs beside them).
    static var takesLock: Bool { get }
    /// Whether the operator has made sure the other node is down (start).
    var takeover: Bool { get }
}

extension PackageAction {
    static var takesLock: Bool { true }
    var takeover: Bool { false }
}

extension PackageAction {
    func run() throws {
        var action = Action.onPackage(
            Self.script, config: package.config, deadline: deadline > 0 ? deadline : nil, takesLock: Self.takesLock)
        action.takeover = takeover
        try ActionRunner(global: global).perform(action).outcome.exit()
    }
}

struct Start: PackageAction {
    static let script = "start"
    static let configuration = CommandConfiguration(
        abstract: "Start the package on this node (scripts/start.lua).",
        discussion: """
            What it does to this node, in order: takes and activates the volume groups (by LVM host tag or system \
            ID), checks and mounts the file systems, starts the NFS server the package runs (the kernel's nfsd with \
            kernel_manage, or NFS-Ganesha with nfs_server = ganesha, its configuration generated) or exports to the \
            kernel's, adds the package addresses (duplicate address probe, gratuitous ARP), prompts the clients \
            recorded by the last node to reconnect, and with lock migration on restores the SM entries, restarts \
            rpc.statd as the package, starts the sync into the holding directory and notifies the clients; last, \
            with run_monitor, it starts the monitor. If a step fails, the steps done are undone and the exit status \
            is 1. Starting a package that is up already changes nothing. A volume group another node still holds \
            is refused, unless --takeover. --dry-run prints the plan and changes nothing, also on a node that does \
            not hold the package yet.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Option(help: "Seconds the whole start may take.", transform: Seconds.positive) var deadline: Double = 600
    @Flag(help: """
        Take over the volume groups another node still holds. Only after making sure that node is down \
        (powered off, or fenced): two nodes writing one file system destroy it.
        """)
    var takeover = false
}

struct Stop: PackageAction {
    static let script = "stop"
    static let configuration = CommandConfiguration(
        abstract: "Stop the package on this node (scripts/stop.lua): the reverse of start.",
        discussion: """
            What it does to this node, in order: stops the monitor, the lock migration's sync and notifications, \
            records the clients' connections for the next node, removes the addresses, unexports or stops the NFS \
            server (releasing the NLM locks taken through the addresses), stops the processes that hold the file \
            systems (TERM, then KILL), unmounts them and deactivates and gives up the volume groups. It ends at its \
            first failure (exit status 1), never releasing a volume group whose file systems may still be mounted. \
            Stopping a package that is down already changes nothing.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Option(help: "Seconds the whole stop may take.", transform: Seconds.positive) var deadline: Double = 600
}

struct Monitor: PackageAction {
    static let script = "monitor"
    static let takesLock = false
    static let configuration = CommandConfiguration(
        abstract: "Watch the package until a check fails for good (scripts/monitor.lua); run it as the package's service.",
        discussion: """
            Runs in the foreground. Exits 1 with one line naming what failed when a \
            check has failed monitor.retries + 1 times in a row and no maintenance \
            file is there; the cluster manager then fails the package over.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Option(help: "Seconds it may run; 0: until a failure or a signal.", transform: Seconds.orNone) var deadline: Double = 0
}

struct LockMigrate: PackageAction {
    static let script = "lock_migration"
    static let configuration = CommandConfiguration(
        commandName: "lock-migration",
        abstract: "Move the package's NFSv3 lock state to this node (scripts/lock_migration.lua).",
        discussion: """
            Restores the SM entries from the holding directory, restarts rpc.statd \
            as the package, starts the holding-directory sync and notifies every \
            client. start does this itself when lock migration is on.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Option(help: "Seconds it may take.", transform: Seconds.positive) var deadline: Double = 600
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what of the package is up on this node (scripts/status.lua); change nothing.",
        discussion: """
            Lines for a person; with --json one JSON document (schema hanfs.status/1, in README.md); with \
            --prometheus metrics in the text exposition format, for node_exporter's textfile collector. Only the \
            document goes to stdout. Exit status 0 whatever is up or down.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Flag(help: "One JSON document: each part's state and why, the monitor's last cycle, lock migration, the last start and stop.")
    var json = false
    @Flag(help: "Metrics in Prometheus's text format (package up, each check's state and time, last start and stop, sync lag).")
    var prometheus = false

    func validate() throws {
        if json && prometheus { throw ValidationError("--json or --prometheus, not both") }
    }

    func run() throws {
        var action = Action(script: "status", configPath: package.config, deadline: 60)
        action.arguments = json ? ["json"] : prometheus ? ["prometheus"] : []
        try ActionRunner(global: global).perform(action).outcome.exit()
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a package file and the site's hooks for it, and say what it holds; change nothing.",
        discussion: """
            With --node, also whether this node can run it (scripts/validate.lua): the tools it needs, its volume \
            groups and devices visible, the interfaces it names, what its NFS server needs. Exit status 0 when it is \
            valid, 6 with every mistake on stderr (file:line: attribute: problem), 1 with one line saying what the \
            node lacks.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Flag(help: "Also check this node: tools, volume groups, devices, interfaces, the NFS server's needs.") var node = false

    func run() throws {
        let context = global.context()
        context.startLogging(nil)
        let c = try package.load(context)
        let hooks: [String]
        switch ActionPipeline(context).checkHooks(c) {
        case .success(let files): hooks = files
        case .failure(let outcome):
            for message in outcome.messages { Console.write("hanfs: \(message)\n", to: .standardError) }
            throw ExitCode(ExitStatus.configuration)
        }
        func count(_ n: Int, _ what: String) -> String {
            "\(n) \(what)\(n == 1 ? "" : what.hasSuffix("s") ? "es" : "s")"
        }
        var text = "\(c.file): package \(c.name) is valid: "
        text += [
            count(c.volumeGroups.count, "volume group"), count(c.fileSystems.count, "file system"),
            count(c.exports.count, "export"), count(c.addresses.count, "address"),
        ].joined(separator: ", ")
        text += "; lock migration \(c.lockMigration.enabled ? "on" : "off")"
        text += hooks.isEmpty ? "\n" : "; hooks \(hooks.joined(separator: ", "))\n"
        Console.write(text, to: .standardOutput)
        if node {
            try ActionRunner(global: global).perform(Action(script: "validate", configPath: package.config, deadline: 60)).outcome.exit()
        }
    }
}

/// A shipped script or module copied into the site directory, to be changed
/// there; its first line records what it was copied from, for doctor.
struct Customize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a shipped control script or stdlib module into the site directory, to change it there.",
        discussion: """
            NAME: start, stop, status, monitor, ... (scripts/), or a module (plan, steps, ... in stdlib/), or \
            scripts/NAME.lua. The copy's first line records the hanfs version and the shipped file it was copied \
            from: after an upgrade, `hanfs run doctor` says which copies the shipped files have moved past. A copy \
            that is there already is left alone.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The script or module.") var name: String

    func run() throws {
        let installation = global.context().installation
        do {
            let copy = try installation.customize(name, version: Hanfs.version)
            Console.write("\(copy): a copy of the shipped one; change it there\n", to: .standardOutput)
        } catch {
            Console.write("hanfs customize: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// Sends the gratuitous ARPs after an address is added: started in the
/// background by ip_add, so that start does not wait for them.
struct Announce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Announce an address: gratuitous ARP, or IPv6 neighbour advertisements (used by ip_add).",
        shouldDisplay: false)
    @Option var interface: String
    @Option var count: Int = 5
    @Option(transform: Seconds.positive) var interval: Double = 0.2
    @Argument var address: String

    func run() throws {
        guard let a = IPAddress(address) else { throw ValidationError("\(address): an IP address expected") }
        do {
            try Addresses.announce(a, on: interface, count: count, interval: interval)
        } catch {
            Console.write("hanfs announce: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// A command under another host name (its own UTS namespace): rpc.nfsd
/// under the package's NFSv4 server scope (used by kernel_server_start).
struct WithHostName: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "with-hostname",
        abstract: "Run a command in a UTS namespace of its own, under a host name (used by kernel_server_start).",
        shouldDisplay: false)
    @Argument var name: String
    @Argument(parsing: .postTerminator) var command: [String] = []

    func run() throws {
        let why = KernelServer.execWithHostName(name, command)
        Console.write("hanfs with-hostname: \(why)\n", to: .standardError)
        throw ExitCode(ExitStatus.failure)
    }
}

/// The holding-directory sync (the toolkit's nfs.flm), as a process of its
/// own: started in the background by flm_start, stopped by flm_stop.
struct Flm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a holding directory a copy of the SM directory, until TERM (used by flm_start).",
        discussion: "An entry rpc.statd writes or removes is copied or removed at once (inotify); a full comparison runs every --interval seconds as a safety net.")
    @Option(help: "The status monitor's directory.") var smDir: String
    @Option(help: "The holding directory, on the package's storage.") var holding: String
    @Option(help: "Seconds between full comparisons.", transform: Seconds.positive) var interval: Double = 5
    @Option(help: "A file to append log lines to (default: stderr).") var log: String?
    @Option(help: "How many times the sync is restarted if it dies.") var restarts: Int = 4
    @Flag(help: .hidden) var worker = false

    /// The process runs a worker and starts it again if it dies (up to
    /// --restarts times, each logged); TERM stops both.
    func run() throws {
        var fd: Int32 = 2
        if let log {
            do {
                fd = try LogFile.openForAppend(
                    log, for: "the holding-directory sync",
                    ownDirectory: NodeSettings.from(environment: ProcessInfo.processInfo.environment).logDirectory)
            } catch {
                Console.write("hanfs flm: \(error.problem)\n", to: .standardError)
                throw ExitCode(ExitStatus.failure)
            }
        }
        let write = { (line: String) in
            var text = "\(Timestamp.now(utc: true).iso) flm \(line)\n"
            text.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        }
        Signals.catchInterrupts(true)
        guard worker else { return try supervise(write) }
        let sync = HoldingSync(sm: smDir, holding: holding, interval: interval, log: write)
        write("started: \(smDir) -> \(holding), full comparison every \(CommandResult.seconds(interval))")
        do {
            try sync.run(shouldStop: { Signals.pending != 0 })
        } catch {
            write("\(error)")
            throw ExitCode(ExitStatus.failure)
        }
        write("stopped")
    }

    func supervise(_ write: @escaping (String) -> Void) throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var argv = [exe, "flm", "--worker", "--sm-dir", smDir, "--holding", holding, "--interval", String(interval)]
        if let log { argv += ["--log", log] }
        let runner = ProcessRunner(shouldStop: { Signals.pending != 0 })
        var died = 0
        while Signals.pending == 0 {
            let result: CommandResult
            do {
                // A year: the sync runs until it is stopped.
                result = try runner.run(Command(argv, timeout: 365 * 86400))
            } catch CommandError.interrupted {
                return
            }
            if Signals.pending != 0 { return }
            died += 1
            guard died <= restarts else {
                write("the sync died (\(result.summary)) \(died) times: not restarted again")
                throw ExitCode(ExitStatus.failure)
            }
            write("the sync died (\(result.summary)): restart \(died) of \(restarts)")
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}

/// rpc.statd's high-availability callout (`rpc.statd -H`): statd runs it
/// through the link `hanfs-statd-callout` with `add-client|del-client
/// MON_NAME CALLER`; `hanfs statd-callout ...` is the same by hand. The
/// directories come from the options, or from HANFS_SM_DIR and
/// HANFS_HOLDING_DIR, which statd_restart gives statd.
struct StatdCallout: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statd-callout",
        abstract: "Copy a client's SM entry to the holding directory as rpc.statd monitors it (rpc.statd --ha-callout).")
    @Option(help: "The SM directory (default $HANFS_SM_DIR).") var smDir: String?
    @Option(help: "The holding directory (default $HANFS_HOLDING_DIR).") var holding: String?
    @Argument(help: "add-client, del-client or sm-notify.") var event: String
    @Argument(help: "The client's mon_name.") var monName: String
    @Argument(parsing: .captureForPassthrough, help: "What else statd passes.") var rest: [String] = []

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        guard let sm = smDir ?? env["HANFS_SM_DIR"], let holding = holding ?? env["HANFS_HOLDING_DIR"] else {
            throw ValidationError("no SM or holding directory (--sm-dir, --holding, or HANFS_SM_DIR, HANFS_HOLDING_DIR)")
        }
        do {
            try StatusDaemon.callout(event: event, monName: monName, sm: sm, holding: holding)
        } catch {
            Console.write("hanfs statd-callout: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}
