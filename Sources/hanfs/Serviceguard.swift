import ArgumentParser
import Foundation
import Actions
import HostBindings
import PackageConfig
import Primitives

/// hanfs as Serviceguard runs the NFS toolkit: a modular package's
/// `external_script`, a legacy control script's `customer_defined_run_cmds`
/// (through a link named hanfs.sh), and the monitor as the package's
/// `service_cmd`.
///
/// Serviceguard itself activates the volume groups, mounts the file systems
/// and adds the package addresses before it runs the external script, and
/// undoes them after; so, like the toolkit's hanfs.sh, hanfs does only the
/// NFS parts here: exports, lock migration, the monitor.
struct Serviceguard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serviceguard",
        abstract: "Serviceguard's entry points: start, stop, validate, lock_migration[:NAME], monitor.",
        discussion: """
            As a modular package's external_script: `hanfs serviceguard start|stop|validate \
            --config FILE` (Serviceguard passes the action; SG_PACKAGE, SG_NODE, and \
            SG_PACKAGE_NAME during validate, come from its environment). Through a link \
            named hanfs.sh, the legacy toolkit's command line: `hanfs.sh start`, `stop`, \
            `lock_migration`, `lock_migration:NAME` (restart statd and notify as NAME), \
            with hanfs.conf beside the link.

            The package file: --config, else $HANFS_CONFIG, else hanfs.conf beside a \
            hanfs.sh link, else $SGCONF/<package>/<package>.conf (SGCONF: \
            /usr/local/cmcluster/conf), the modular package file itself. A hanfs.sh \
            link is also what a modular package names as its external_script.

            Exit status, as Serviceguard reads it: 0 success; 1 failure, halt the \
            package and do not restart it (a wrong package file, a stop that could \
            not finish, a start that could not undo its steps); 2 failure, restart \
            the package on another node (a start whose steps were all undone, or a \
            node that lacks something the package needs). validate: 1 for a wrong \
            package file, 2 for a node that lacks something.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The package file (default: see below).") var config: String?
    @Option(help: "Seconds the action may take; 0: no limit (the monitor).", transform: Seconds.orNone) var deadline: Double = 600
    @Argument(help: "start, stop, validate, lock_migration, lock_migration:NAME or monitor.") var action: String

    /// Serviceguard's exit statuses.
    enum Status {
        static let success: Int32 = 0
        /// Halt the package; do not restart it anywhere.
        static let halt: Int32 = 1
        /// Restart the package on another node.
        static let restartElsewhere: Int32 = 2
    }

    /// Where the hanfs.sh link hanfs was run through stands (its directory
    /// holds hanfs.conf); nil when it was not run so.
    static var legacyDirectory: String? {
        guard let argv0 = CommandLine.arguments.first, (argv0 as NSString).lastPathComponent == "hanfs.sh" else { return nil }
        let directory = (argv0 as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let package = env["SG_PACKAGE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? env["SG_PACKAGE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = packageFile(package: package, env: env) else {
            Console.write(
                "hanfs: serviceguard: no package file: give --config, set HANFS_CONFIG, or keep it as $SGCONF/<package>/<package>.conf\n",
                to: .standardError)
            throw ExitCode(Status.halt)
        }
        let (name, arguments) = split(action)
        let script: String
        switch name {
        case "start", "stop", "validate", "monitor", "lock_migration": script = name
        default:
            Console.write("hanfs: serviceguard: unknown action \(action): start, stop, validate, lock_migration[:NAME] or monitor\n", to: .standardError)
            throw ExitCode(Status.halt)
        }
        var run = Action.onPackage(
            script, config: path, deadline: name == "monitor" && deadline == 600 || deadline == 0 ? nil : deadline,
            takesLock: !["validate", "monitor"].contains(name))
        run.arguments = arguments
        run.clusterManagerDoesStorageAndAddresses = true
        // The file must be the package Serviceguard runs.
        run.check = { config in
            guard let package, config.name != package else { return nil }
            return "\(config.file): package_name: this is package \(config.name), Serviceguard runs \(package)"
        }
        // The node Serviceguard names is the node (the LVM host tag).
        let runner = ActionRunner(global: global, nodeName: env["SG_NODE"].flatMap { $0.isEmpty ? nil : $0 })
        throw ExitCode(Self.status(name, runner.perform(run).outcome))
    }

    /// `lock_migration:nfspkg` → ("lock_migration", ["nfspkg"]).
    func split(_ action: String) -> (String, [String]) {
        guard let colon = action.firstIndex(of: ":") else { return (action, []) }
        return (String(action[..<colon]), [String(action[action.index(after: colon)...])])
    }

    func packageFile(package: String?, env: [String: String]) -> String? {
        if let config { return config }
        if let c = env["HANFS_CONFIG"], !c.isEmpty { return c }
        if let dir = Self.legacyDirectory, FileManager.default.fileExists(atPath: dir + "/hanfs.conf") {
            return dir + "/hanfs.conf"
        }
        guard let package else { return nil }
        let sgconf = env["SGCONF"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/cmcluster/conf"
        let file = "\(sgconf)/\(package)/\(package).conf"
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    /// The outcome as Serviceguard's exit status.
    static func status(_ action: String, _ outcome: ActionOutcome) -> Int32 {
        switch (action, outcome) {
        case (_, .done): return Status.success
        case (_, .configuration): return Status.halt
        // validate: the file is right, the node lacks something.
        case ("validate", _): return Status.restartElsewhere
        // A start that left nothing behind may be tried on another node.
        case ("start", .failed(_, _, undone: true)), ("start", .notInstalled), ("lock_migration", .failed(_, _, undone: true)):
            return Status.restartElsewhere
        default: return Status.halt
        }
    }
}
