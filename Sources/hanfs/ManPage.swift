import Foundation
import PackageConfig
import Primitives

/// hanfs(8), made from the command line's own declarations (the commands,
/// their help and options, as `--experimental-dump-help` gives them) and
/// the fixed sections below: `hanfs doc hanfs.8`, written to doc/hanfs.8 by
/// `make docs`, checked by a test.
enum ManPage {
    /// The parts of the command tree the page is made from.
    struct Command: Decodable {
        var commandName: String
        var abstract: String?
        var discussion: String?
        var shouldDisplay: Bool
        var arguments: [Argument]?
        var subcommands: [Command]?
    }

    struct Argument: Decodable {
        struct Name: Decodable {
            var kind: String
            var name: String
        }
        var kind: String
        var names: [Name]?
        var valueName: String?
        var abstract: String?
        var isOptional: Bool
        var isRepeating: Bool
        var shouldDisplay: Bool
        var defaultValue: String?

        /// `--config <config>`, `-h, --help`, `<script>`.
        var usage: String {
            let spelled = (names ?? []).map { $0.kind == "short" ? "-\($0.name)" : "--\($0.name)" }.joined(separator: ", ")
            switch kind {
            case "positional": return "<\(valueName ?? "value")>" + (isRepeating ? " ..." : "")
            case "option": return "\(spelled) <\(valueName ?? "value")>"
            default: return spelled
            }
        }
    }

    struct Dump: Decodable { var command: Command }

    /// The options every command has (GlobalOptions), said once.
    static let common: Set<String> = ["--dry-run", "--log-level <log-level>", "--site-dir <site-dir>", "-h, --help", "--version"]

    static func render(_ dump: Data, version: String) throws -> String {
        let root = try JSONDecoder().decode(Dump.self, from: dump).command
        let r = AttributeReference.roff
        var text = """
            .TH HANFS 8 "" "hanfs \(version)" "System Administration"
            .SH NAME
            hanfs \\- \(r(lowercasedFirst(root.abstract ?? "")).replacingOccurrences(of: ".", with: ""))
            .SH SYNOPSIS
            .B hanfs
            .I command
            .RI [ options ]
            .B \\-\\-config
            .I FILE
            .br
            .B hanfs run
            .I script
            .RI [ arguments ...]
            .SH DESCRIPTION
            An NFS server that must survive the loss of a node runs as a package: volume groups on shared disks,
            file systems, exports, addresses clients mount from, and the lock state of its clients.
            A cluster manager (Serviceguard, or Pacemaker with Corosync) decides where the package runs and fences a
            node that died; hanfs does the work on the node: start, stop (the exact reverse), lock migration and the
            monitor. Its control scripts are Lua files a site can read and change
            .RI ( /usr/share/hanfs/scripts ,
            a site's own copies in
            .IR /etc/hanfs/scripts ).
            The package file is described in
            .BR hanfs.conf (5).
            .SH COMMON OPTIONS
            Every command takes these; they may also come before it.
            .TP
            .B \\-\\-dry\\-run
            Run nothing: print the plan, every command in order with its exact argv, the other changes, what it
            assumed, and the files it would write.
            .TP
            .BI \\-\\-log\\-level " level"
            trace, debug, info, notice, warning, error or critical (default info): the least level shown on stderr.
            .TP
            .BI \\-\\-site\\-dir " dir"
            The site directory, searched before the shipped scripts and stdlib (default
            .IR /etc/hanfs ).
            .SH COMMANDS

            """
        for command in (root.subcommands ?? []) where command.shouldDisplay {
            text += section(command, path: "hanfs")
        }
        return text + tail
    }

    /// The sections after the commands.
    static let tail = """
            .SH EXIT STATUS
            .TP
            .B 0
            success
            .TP
            .B 1
            failure: a script error, its deadline or an interrupt; a start that was rolled back; a stop that could
            not finish; the package busy with another start or stop; a node that lacks what the package needs
            .RB ( validate \\-\\-node )
            .TP
            .B 6
            the package file is wrong: nothing was done; every mistake is on stderr as
            .IR file:line:\\ attribute:\\ problem
            .TP
            .B 64
            bad usage
            .PP
            The first line on stderr says why. The Serviceguard and OCF entry points use their cluster manager's codes.
            .SH ENVIRONMENT
            .TP
            .B HANFS_NODE
            this node's name, its LVM host tag (default: the kernel's node name)
            .TP
            .B HANFS_RUN_DIR
            runtime notes, locks and the package marker (default
            .IR /run/hanfs )
            .TP
            .B HANFS_LOG_DIR
            the package logs (default
            .IR /var/log/hanfs )
            .TP
            .B HANFS_SYSLOG_SOCKET
            the syslog socket (default: journald's where it runs, else
            .IR /dev/log )
            .TP
            .B HANFS_HOME
            where the shipped scripts and stdlib are (default: beside the binary)
            .TP
            .B HANFS_SITE_DIR
            the site directory (default
            .IR /etc/hanfs )
            .TP
            .B HANFS_LAB_DIR
            the lab's directory (default
            .IR /var/tmp/hanfs\\-lab )
            .TP
            .B OCF_RESKEY_config
            the package file, as the Pacemaker agent takes it
            .SH FILES
            .TP
            .I /etc/hanfs/site.lua
            the site's hooks, loaded before every script
            .TP
            .I /etc/hanfs/scripts/ , /etc/hanfs/stdlib/
            a site's own copies of the shipped scripts and modules, found first
            .TP
            .I /usr/share/hanfs/
            the shipped scripts, stdlib and example package files
            .TP
            .I /var/log/hanfs/NAME.log , NAME.log.jsonl
            the package's log, and each event as a JSON record
            .TP
            .I /run/hanfs/
            each package's lock, marker and notes on this node
            .TP
            .I /usr/lib/ocf/resource.d/hanfs/package
            the Pacemaker agent ocf:hanfs:package
            .SH EXAMPLES
            .nf
            hanfs validate \\-\\-node \\-\\-config /etc/hanfs/nfspkg.lua
            hanfs start \\-\\-dry\\-run \\-\\-config /etc/hanfs/nfspkg.lua
            hanfs start \\-\\-config /etc/hanfs/nfspkg.lua
            hanfs status \\-\\-json \\-\\-config /etc/hanfs/nfspkg.lua
            hanfs stop \\-\\-config /etc/hanfs/nfspkg.lua
            hanfs run doctor
            hanfs repl \\-\\-config /etc/hanfs/nfspkg.lua
            .fi
            .SH SEE ALSO
            .BR hanfs.conf (5),
            .BR exportfs (8),
            .BR rpc.statd (8),
            .BR ganesha.nfsd (8),
            .BR crm (8),
            .BR pcs (8)

            """

    /// One command: its usage, what it does, its own options; its subcommands after it.
    static func section(_ command: Command, path: String) -> String {
        let r = AttributeReference.roff
        let name = "\(path) \(command.commandName)"
        let own = (command.arguments ?? []).filter { $0.shouldDisplay && !common.contains($0.usage) }
        var text = ".SS \(r(name))\n"
        text += ".B \(r(name))\n" + own.map { a in a.isOptional ? "[\(r(a.usage))]" : r(a.usage) }.joined(separator: "\n") + "\n"
        text += ".PP\n\(r(command.abstract ?? ""))\n"
        if let discussion = command.discussion, !discussion.isEmpty {
            for paragraph in discussion.components(separatedBy: "\n\n") {
                text += ".PP\n\(r(paragraph.replacingOccurrences(of: "\n", with: " ")))\n"
            }
        }
        for a in own {
            text += ".TP\n.B \(r(a.usage))\n\(r(a.abstract ?? ""))"
            if let d = a.defaultValue, !d.isEmpty { text += " (default: \(r(d)))" }
            text += "\n"
        }
        for sub in (command.subcommands ?? []) where sub.shouldDisplay { text += section(sub, path: name) }
        return text
    }

    static func lowercasedFirst(_ s: String) -> String { s.prefix(1).lowercased() + s.dropFirst() }
}
