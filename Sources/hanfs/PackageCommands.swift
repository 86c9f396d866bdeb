import ArgumentParser
import Foundation
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
    func load(_ installation: Installation) throws -> PackageConfiguration {
        do {
            return try PackageLoader.load(config, installation: installation)
        } catch {
            for e in error.errors { Console.write("hanfs: \(e)\n", to: .standardError) }
            throw ExitCode(ExitStatus.configuration)
        }
    }
}

/// How a control script run on a package ended; each front end (the plain
/// commands, Serviceguard, Pacemaker) says it in its own exit status.
enum ActionOutcome {
    case done
    /// The package file is wrong: nothing ran (every mistake is listed).
    case configuration([String])
    /// Something hanfs needs is not on this node (a script, a tool).
    case notInstalled(String)
    /// Another start or stop of the package holds its lock.
    case busy(String)
    /// The script failed; `undone`: every step it had done was undone.
    case failed(String, undone: Bool)

    /// One line saying why it did not succeed.
    var reason: String? {
        switch self {
        case .done: nil
        case .configuration(let errors): errors.first.map { errors.count > 1 ? "\($0) (and \(errors.count - 1) more)" : $0 }
        case .notInstalled(let why), .busy(let why), .failed(let why, _): why
        }
    }
}

/// Runs a control script on a package, the way start, stop, the monitor
/// and the cluster managers' entry points all do: under the package's lock
/// (unless `takesLock` is false), logged to the package log, with the
/// runtime marker set after a start and cleared after a stop, and a stopped
/// start undone. Errors are reported on stderr and in the log.
struct PackageScript {
    var script: String
    var global: GlobalOptions
    var configPath: String
    var deadline: Double
    var takesLock = true
    /// Arguments the script gets (`arg`, `...`).
    var arguments: [String] = []
    /// What the cluster manager does itself (see ScriptHost.leaveToClusterManager).
    var clusterManagerDoesStorageAndAddresses = false
    /// What the script reported as it ran (its result, the undos that failed).
    let report = RunReport()
    /// A further check of the loaded package: a problem with it, or nil.
    var check: (PackageConfiguration) -> String? = { _ in nil }
    /// The node's name as the cluster manager gives it (SG_NODE, the OCF
    /// `node` parameter); nil: HANFS_NODE, else the kernel's node name.
    var nodeName: String?

    func perform() -> ActionOutcome {
        let installation = global.installation
        let config: PackageConfiguration
        do {
            config = try PackageLoader.load(configPath, installation: installation)
        } catch {
            for e in error.errors { Console.write("hanfs: \(e)\n", to: .standardError) }
            return .configuration(error.errors.map { "\($0)" })
        }
        if let problem = check(config) {
            Console.write("hanfs: \(problem)\n", to: .standardError)
            return .configuration([problem])
        }
        guard let path = installation.findScript(script) else {
            let why = "no \(script).lua in \(installation.scriptDirectories.joined(separator: ", "))"
            Console.write("hanfs: \(why)\n", to: .standardError)
            return .notInstalled(why)
        }
        let steps = report
        let settings = global.settings(nodeName: nodeName)
        let runtime = settings.runtime(config.name)
        var lock: PackageRuntime.Lock?
        if global.dryRun {
            _ = global.prepare()
        } else {
            let target: PackageLogHandler.Target
            do {
                target = try PackageLogHandler.Target(
                    path: config.logPath(in: settings.logDirectory), action: script, steps: steps,
                    logDirectory: settings.logDirectory)
            } catch {
                Console.write("hanfs: \(error)\n", to: .standardError)
                return .failed("\(error)", undone: true)
            }
            _ = global.prepare(packageLog: target)
            do {
                if takesLock { lock = try runtime.lock(action: script) }
            } catch {
                Logger(label: LogLabel.host).error("\(error)")
                Console.write("hanfs: \(error)\n", to: .standardError)
                return .busy("\(error)")
            }
        }
        defer { lock?.release() }
        let log = Logger(label: LogLabel.host)
        // A start or stop whose process was ended before it finished (the
        // watchdog, KILL) leaves this note: the next start undoes that start
        // first, with the stop script, the exact reverse.
        let tracked = !global.dryRun && (script == "start" || script == "stop")
        if tracked {
            if let previous = runtime.read(Self.unfinishedKey) {
                log.warning("the \(previous) did not finish: its process was ended")
                if script == "start" && previous.hasPrefix("start ") {
                    if let failure = undoUnfinishedStart(config, installation) { return failure }
                }
            }
            try? runtime.write(Self.unfinishedKey, "\(script) by pid \(getpid()) at \(Timestamp.now(utc: true).iso)")
        }
        defer { if tracked { try? runtime.write(Self.unfinishedKey, nil) } }
        let host: ScriptHost
        let recorder: RecordingRunner?
        do {
            (host, recorder) = try global.makeHost(installation, package: config, steps: steps, settings: settings)
        } catch {
            Console.write("hanfs: \(error)\n", to: .standardError)
            return .failed("\(error)", undone: true)
        }
        if clusterManagerDoesStorageAndAddresses {
            host.leaveToClusterManager(storage: true, addresses: true)
        }
        log.notice("\(script) \(config.name) on \(host.node.nodeName) (\(config.file), script \(path))")
        let started = Monotonic.now()
        let failure = ScriptRun.run(
            host, path: path, display: path, arguments: arguments,
            limits: RunLimits(deadline: deadline > 0 ? deadline : nil, memory: 512 << 20), recorder: recorder)
        let took = CommandResult.seconds(Monotonic.now() - started)
        if let failure {
            log.error("\(script) \(config.name) failed after \(took): \(failure.message)")
            var undone = true
            if [.deadline, .interrupted].contains(failure.kind) {
                // The script could not undo its own steps: it was stopped.
                do {
                    try host.abandonStoppedPlan(limits: RunLimits(deadline: rollbackDeadline))
                } catch {
                    log.error("undoing the stopped \(script) failed: \(error.message)")
                    undone = false
                }
            }
            Console.write("hanfs: \(failure.report)\n", to: .standardError)
            return .failed(failure.message, undone: undone && steps.undoFailures.isEmpty)
        }
        if !global.dryRun {
            do {
                switch script {
                case "start": try runtime.markStarted(node: host.node.nodeName)
                case "stop": try runtime.clearStarted()
                default: break
                }
            } catch {
                log.error("cannot update \(runtime.markerPath): \(error)")
                return .failed("cannot update \(runtime.markerPath): \(error)", undone: false)
            }
        }
        log.notice("\(script) \(config.name) done in \(took)")
        return .done
    }
}

extension PackageScript {
    /// The runtime note of a start or stop under way.
    static let unfinishedKey = "unfinished"

    /// Runs the stop script over what an unfinished start left; nil when it
    /// did, else the outcome that ends this start.
    func undoUnfinishedStart(_ config: PackageConfiguration, _ installation: Installation) -> ActionOutcome? {
        let log = Logger(label: LogLabel.host)
        guard let path = installation.findScript("stop") else {
            return .notInstalled("no stop.lua in \(installation.scriptDirectories.joined(separator: ", "))")
        }
        log.notice("undoing the unfinished start first (\(path))")
        let failure: ScriptError?
        do {
            let (host, recorder) = try global.makeHost(
                installation, package: config, steps: RunReport(), settings: global.settings(nodeName: nodeName))
            if clusterManagerDoesStorageAndAddresses { host.leaveToClusterManager(storage: true, addresses: true) }
            failure = ScriptRun.run(
                host, path: path, display: path, limits: RunLimits(deadline: rollbackDeadline, memory: 512 << 20),
                recorder: recorder)
        } catch {
            failure = ScriptError(kind: .runtime, message: "\(error)")
        }
        guard let failure else { return nil }
        let why = "undoing the unfinished start failed: \(failure.message)"
        log.error("\(why)")
        Console.write("hanfs: \(why)\n", to: .standardError)
        return .failed(why, undone: false)
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
}

extension PackageAction {
    static var takesLock: Bool { true }
}

/// Seconds the undo of a stopped start may take.
let rollbackDeadline = 300.0

extension PackageAction {
    func run() throws {
        let outcome = PackageScript(
            script: Self.script, global: global, configPath: package.config, deadline: deadline, takesLock: Self.takesLock
        ).perform()
        switch outcome {
        case .done: return
        case .configuration: throw ExitCode(ExitStatus.configuration)
        case .notInstalled, .busy, .failed: throw ExitCode(ExitStatus.failure)
        }
    }
}

struct Start: PackageAction {
    static let script = "start"
    static let configuration = CommandConfiguration(
        abstract: "Start the package on this node (scripts/start.lua).",
        discussion: """
            Activates the volume groups, checks and mounts the file systems, \
            exports them and adds the package addresses. If a step fails, the \
            steps done are undone and the exit status is 1. Starting a package \
            that is up already changes nothing.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions
    @Option(help: "Seconds the whole start may take.", transform: Seconds.positive) var deadline: Double = 600
}

struct Stop: PackageAction {
    static let script = "stop"
    static let configuration = CommandConfiguration(
        abstract: "Stop the package on this node (scripts/stop.lua): the reverse of start.",
        discussion: "Stopping a package that is down already changes nothing.")
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
        abstract: "Show what of the package is up on this node (scripts/status.lua).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions

    func run() throws {
        let installation = global.prepare()
        let config = try package.load(installation)
        guard let path = installation.findScript("status") else {
            Console.write("hanfs: no status.lua in \(installation.scriptDirectories.joined(separator: ", "))\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
        let (host, _) = try global.makeHost(installation, package: config)
        if let failure = ScriptRun.run(host, path: path, display: path, limits: RunLimits(deadline: 60), recorder: nil) {
            Console.write("hanfs: \(failure.report)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a package file and say what it holds; change nothing.",
        discussion: "Exit status 0 when it is valid, 6 with every mistake on stderr (file:line: attribute: problem).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var package: PackageOptions

    func run() throws {
        let installation = global.prepare()
        let c = try package.load(installation)
        func count(_ n: Int, _ what: String) -> String {
            "\(n) \(what)\(n == 1 ? "" : what.hasSuffix("s") ? "es" : "s")"
        }
        var text = "\(c.file): package \(c.name) is valid: "
        text += [
            count(c.volumeGroups.count, "volume group"), count(c.fileSystems.count, "file system"),
            count(c.exports.count, "export"), count(c.addresses.count, "address"),
        ].joined(separator: ", ")
        text += "; lock migration \(c.lockMigration.enabled ? "on" : "off")\n"
        Console.write(text, to: .standardOutput)
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
            if a.isIPv6 {
                try NeighbourAdvertisement.announce(interface: interface, address: a, count: count, interval: interval)
            } else {
                try Arp.announce(interface: interface, address: a, count: count, interval: interval)
            }
        } catch {
            Console.write("hanfs announce: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
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
