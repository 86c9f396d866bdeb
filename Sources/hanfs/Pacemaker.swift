import ArgumentParser
import Foundation
import Actions
import HostBindings
import PackageConfig
import Primitives

/// hanfs as a Pacemaker resource agent (OCF): `ocf:hanfs:package`, a link
/// to the hanfs binary in /usr/lib/ocf/resource.d/hanfs/ (`make install-ocf`).
/// It runs the same control scripts as `hanfs start|stop`; Pacemaker gives
/// the package file as the `config` parameter (OCF_RESKEY_config).
struct Pacemaker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocf",
        abstract: "The Pacemaker resource agent: start, stop, monitor, validate-all, meta-data.",
        discussion: """
            Run by Pacemaker through the link /usr/lib/ocf/resource.d/hanfs/package, \
            with the package file in OCF_RESKEY_config. Exit status: OCF's. 0 success \
            (also a start of a running package, a stop of a stopped one); 1 generic \
            error; 2 bad arguments (no action, a malformed node name); 3 an action it \
            does not have; 5 this node lacks something the package needs (a tool, its \
            volume group, the package file); 6 the package file is wrong, or config is \
            not given; 7 not running (monitor). On failure the last line on stderr is \
            `ocf-exit-reason:WHY`.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "start, stop, monitor, validate-all, meta-data or usage.") var action: String = ""

    /// OCF's exit statuses.
    enum OCF {
        static let success: Int32 = 0
        static let generic: Int32 = 1
        static let arguments: Int32 = 2
        static let unimplemented: Int32 = 3
        static let notInstalled: Int32 = 5
        static let configured: Int32 = 6
        static let notRunning: Int32 = 7
    }

    /// Whether argv0 is a link in an OCF resource directory.
    static func isAgent(_ argv0: String) -> Bool { argv0.contains("/resource.d/") }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        switch action {
        case "meta-data":
            Console.write(Self.metadata, to: .standardOutput)
            throw ExitCode(OCF.success)
        case "usage", "help":
            Console.write("usage: \(CommandLine.arguments[0]) {start|stop|monitor|validate-all|meta-data}\n", to: .standardOutput)
            throw ExitCode(OCF.success)
        case "start", "stop", "monitor", "validate-all": break
        case "":
            Console.write("usage: \(CommandLine.arguments[0]) {start|stop|monitor|validate-all|meta-data}\n", to: .standardError)
            throw ExitCode(OCF.arguments)
        default:
            Console.write("ocf-exit-reason:action \(action) is not implemented\n", to: .standardError)
            throw ExitCode(OCF.unimplemented)
        }
        let probe = action == "monitor" && (env["OCF_RESKEY_CRM_meta_interval"] ?? "0") == "0"
        guard let config = env["OCF_RESKEY_config"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            // A probe of a resource not configured yet finds nothing running.
            if probe { throw ExitCode(OCF.notRunning) }
            Console.write("ocf-exit-reason:the config parameter is required (the package file)\n", to: .standardError)
            throw ExitCode(OCF.configured)
        }
        if !FileManager.default.fileExists(atPath: config) {
            // A probe where the package file is not (it may live on storage another node holds): not running here.
            if probe { throw ExitCode(OCF.notRunning) }
            // Elsewhere it may be there: a local error, not the cluster's configuration.
            Console.write("ocf-exit-reason:config: \(config) is not on this node\n", to: .standardError)
            throw ExitCode(OCF.notInstalled)
        }
        let node = env["OCF_RESKEY_node"].flatMap { $0.isEmpty ? nil : $0 }
        if let node {
            guard node.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                Console.write("ocf-exit-reason:node: \"\(node)\" is not a node name (letters, digits, - _ .)\n", to: .standardError)
                throw ExitCode(OCF.arguments)
            }
        }

        // Pacemaker's timeout for the action (ms); hanfs stops a little before, to undo what it did.
        let timeout = env["OCF_RESKEY_CRM_meta_timeout"].flatMap(Double.init).map { $0 / 1000 }
        let deadline = timeout.map { max(5, $0 * 0.8) } ?? 600
        let script: String
        var arguments: [String] = []
        switch action {
        case "start": script = "start"
        case "stop": script = "stop"
        case "monitor":
            script = "monitor"
            arguments = ["once"]
        default: script = "validate"
        }
        var run = Action.onPackage(script, config: config, deadline: deadline, takesLock: ["start", "stop"].contains(action))
        run.arguments = arguments
        let outcome = ActionRunner(global: global, nodeName: node).perform(run).outcome
        let status = Self.status(action, outcome)
        if status != OCF.success && status != OCF.notRunning, let reason = outcome.reason {
            Console.write("ocf-exit-reason:\(reason.split(separator: "\n").first.map(String.init) ?? reason)\n", to: .standardError)
        }
        throw ExitCode(status)
    }

    static func status(_ action: String, _ outcome: ActionOutcome) -> Int32 {
        switch outcome {
        case .done(.notRunning): return OCF.notRunning
        case .done: return OCF.success
        case .configuration: return OCF.configured
        case .notInstalled: return OCF.notInstalled
        case .busy: return OCF.generic
        // validate-all: the file is right; the node lacks something.
        case .failed: return action == "validate-all" ? OCF.notInstalled : OCF.generic
        }
    }

    /// One of the agent's parameters, as its meta-data declares it.
    struct Parameter {
        let name: String
        let required: Bool
        let unique: Bool
        let shortdesc: String
        let longdesc: String
    }

    /// The agent's parameters: the package file (its attributes are
    /// hanfs.conf(5)'s, made from the attribute table), and the node.
    static let parameters = [
        Parameter(
            name: "config", required: true, unique: true, shortdesc: "Package file",
            longdesc: """
                The package file: native Lua (.lua), a Serviceguard modular package file, or legacy hanfs.conf \
                variables; its attributes are listed in hanfs.conf(5). `hanfs validate --config FILE` checks it.
                """),
        Parameter(
            name: "node", required: false, unique: false, shortdesc: "Node name",
            longdesc: """
                This node's name as the package sees it (its LVM host tag). Default: the HANFS_NODE environment \
                variable, else the host name.
                """),
    ]

    /// The actions, with the timeouts Pacemaker is advised to give them.
    static let actions: [(name: String, timeout: Int, extra: String)] = [
        ("start", 300, ""), ("stop", 300, ""), ("monitor", 60, " interval=\"30s\" depth=\"0\""), ("validate-all", 30, ""),
        ("meta-data", 5, ""),
    ]

    static let longdesc = """
        A highly available NFS package run by hanfs: its volume groups, file systems (checked and mounted), \
        exports, package IP addresses and NFSv3 lock migration, brought up by the package's start script and \
        taken down by its stop script, the same Lua control scripts hanfs runs under Serviceguard. The monitor \
        action runs the package's checks once (RPC services, mounts, exports, addresses, the lock-migration \
        sync). Start on a running package and stop on a stopped one succeed; a failed start undoes what it did.
        """

    static var metadata: String {
        func xml(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var text = """
            <?xml version="1.0"?>
            <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
            <resource-agent name="package" version="\(Hanfs.version)">
            <version>1.0</version>
            <longdesc lang="en">
            \(xml(longdesc))
            </longdesc>
            <shortdesc lang="en">HA NFS package (hanfs)</shortdesc>
            <parameters>

            """
        for p in parameters {
            text += """
                <parameter name="\(p.name)" unique="\(p.unique ? 1 : 0)" required="\(p.required ? 1 : 0)">
                <longdesc lang="en">
                \(xml(p.longdesc))
                </longdesc>
                <shortdesc lang="en">\(xml(p.shortdesc))</shortdesc>
                <content type="string" default="" />
                </parameter>

                """
        }
        text += "</parameters>\n<actions>\n"
        for a in actions { text += "<action name=\"\(a.name)\" timeout=\"\(a.timeout)s\"\(a.extra) />\n" }
        return text + "</actions>\n</resource-agent>\n"
    }
}
