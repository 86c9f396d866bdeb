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
        let node = try Self.nodeName(env)
        // Pacemaker's timeout for the action (ms): on it, Pacemaker kills the
        // agent's process group. The run gets 60 % of it and its undo 30 %,
        // so that a stopped start is undone before that, with room to exit.
        let timeout = env["OCF_RESKEY_CRM_meta_timeout"].flatMap(Double.init).map { $0 / 1000 }
        var run = Action.onPackage(
            Self.scripts[action]!, config: config, deadline: timeout.map { max(3, $0 * 0.6) } ?? 600,
            takesLock: ["start", "stop"].contains(action))
        if let timeout { run.undoDeadline = max(2, timeout * 0.3) }
        run.arguments = action == "monitor" ? ["once"] : []
        // Pacemaker fences a node before it starts its resources elsewhere: a
        // volume group the other node still holds belongs to a node that is down.
        run.takeover = action == "start"
        // Progress goes to the package log; stderr carries only what Pacemaker shows.
        let runner = ActionRunner(global: global, nodeName: node, consoleLevel: .critical, quiet: true)
        let outcome = runner.perform(run).outcome
        let status = Self.status(action, outcome)
        if status != OCF.success && status != OCF.notRunning, let reason = outcome.reason {
            // A mistake in the package file keeps its file and line: the user's.
            let installation = global.context().installation
            let hidden = installation.scriptDirectories + installation.moduleDirectories
            let text = if case .failed = outcome { Self.readable(reason, hiding: hidden) } else { reason }
            Console.write("ocf-exit-reason:\(text.split(separator: "\n").first.map(String.init) ?? text)\n", to: .standardError)
        }
        throw ExitCode(status)
    }

    /// The script of each action.
    static let scripts = ["start": "start", "stop": "stop", "monitor": "monitor", "validate-all": "validate"]

    /// The node this runs on, as Pacemaker names it: its
    /// OCF_RESKEY_CRM_meta_on_node; else nil when HANFS_NODE names it (the
    /// node's own setting); else what `crm_node -n` says; else nil (the
    /// kernel's node name). A resource parameter is the same on every node,
    /// so none names it.
    static func nodeName(_ env: [String: String]) throws -> String? {
        var name = env["OCF_RESKEY_CRM_meta_on_node"].flatMap { $0.isEmpty ? nil : $0 }
        if name == nil, env["HANFS_NODE"].map({ !$0.isEmpty }) == true { return nil }
        if name == nil, ProcessRunner.resolve("crm_node") != nil,
            let r = try? ProcessRunner().run(Command(["crm_node", "-n"], timeout: 5)), r.succeeded
        {
            name = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            if name?.isEmpty == true { name = nil }
        }
        guard let name else { return nil }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            Console.write("ocf-exit-reason:this node's name \"\(name)\" is not a node name (letters, digits, - _ .)\n", to: .standardError)
            throw ExitCode(OCF.arguments)
        }
        return name
    }

    /// A reason as a user reads it: its first line, without the positions in
    /// hanfs's scripts (`/usr/share/hanfs/stdlib/plan.lua:57: `, files in
    /// `hiding`) that Lua puts before an error.
    static func readable(_ reason: String, hiding directories: [String]) -> String {
        var text = Substring(reason.split(separator: "\n").first ?? "")
        while let colon = text.firstIndex(of: ":"), text[..<colon].hasSuffix(".lua"),
            directories.contains(where: { text[..<colon].hasPrefix($0 + "/") }),
            let rest = Optional(text[text.index(after: colon)...]), let end = rest.firstIndex(of: ":"),
            !rest[..<end].isEmpty, rest[..<end].allSatisfy(\.isNumber)
        {
            text = rest[rest.index(after: end)...].drop { $0 == " " }
        }
        return String(text)
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
    /// hanfs.conf(5)'s, made from the attribute table). The node is the one
    /// the agent runs on, as Pacemaker names it (see nodeName), never a
    /// parameter: a parameter is the same on every node.
    static let parameters = [
        Parameter(
            name: "config", required: true, unique: true, shortdesc: "Package file",
            longdesc: """
                The package file: native Lua (.lua), a Serviceguard modular package file, or legacy hanfs.conf \
                variables; its attributes are listed in hanfs.conf(5). `hanfs validate --config FILE` checks it.
                """),
    ]

    /// The actions, with the timeouts Pacemaker is advised to give them.
    static let actions: [(name: String, timeout: Int, extra: String)] = [
        ("start", 300, ""), ("stop", 300, ""), ("monitor", 30, " interval=\"20s\" depth=\"0\""), ("validate-all", 30, ""),
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
