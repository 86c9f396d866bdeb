import ArgumentParser
import Foundation
import HostBindings
import PackageConfig

/// A Serviceguard package, as a site has it, made into a native package
/// file: `hanfs import pkg.cntl --output /etc/hanfs/nfspkg.lua`.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Make a native package file of a Serviceguard package, and on request its Pacemaker configuration.",
        discussion: """
            FILE: a modular package file; a legacy hanfs.conf; or a legacy package control script (pkg.cntl), whose \\
            variable assignments are read with the hanfs.conf beside it (or --toolkit-conf) and whose other shell is \\
            left alone. Its customer_defined_run_cmds and customer_defined_halt_cmds become site hooks with --hooks \\
            (plain commands as argvs, the rest as comments to port). Everything not carried over is listed on stderr. \\
            With --pacemaker crm or pcs, the commands that create the package's resource ocf:hanfs:package (its \\
            node order, monitor interval and timeouts from the package) are printed. Files are never overwritten; \\
            the package file written is read back before hanfs says it is done.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The Serviceguard package: modular package file, hanfs.conf, or control script.") var file: String
    @Option(help: "The legacy hanfs.conf to read with a control script (default: the one beside it).") var toolkitConf: String?
    @Option(help: "Where to write the native package file (default: stdout).") var output: String?
    @Option(help: "Where to write the site hooks made of the control script's customer defined commands.") var hooks: String?
    @Option(help: "crm or pcs: print the Pacemaker configuration that runs the package (needs --output).") var pacemaker: String?

    func validate() throws {
        if let p = pacemaker, !["crm", "pcs"].contains(p) { throw ValidationError("--pacemaker: crm or pcs") }
        if pacemaker != nil && output == nil { throw ValidationError("--pacemaker needs --output: its config= names the package file") }
    }

    func run() throws {
        var imported: TextFormats.Imported
        do {
            imported = try TextFormats.importPackage(file, toolkitConf: toolkitConf)
        } catch {
            for e in error.errors { Console.write("hanfs: \(e)\n", to: .standardError) }
            throw ExitCode(ExitStatus.configuration)
        }
        var leftOut = imported.leftOut
        if let hooks,
            let text = NativeWriter.hooks(run: imported.runCommands, halt: imported.haltCommands, from: file, leftOut: &leftOut)
        {
            try Self.create(hooks, text)
            imported.config.hooksFile = hooks
        } else if !imported.runCommands.isEmpty || !imported.haltCommands.isEmpty, hooks == nil {
            for (line, at) in imported.runCommands + imported.haltCommands where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                leftOut.append("\(at): \(line.trimmingCharacters(in: .whitespaces)): a customer defined command: --hooks FILE makes a site hook of it")
            }
        }
        leftOut += NativeWriter.leftOut(imported.config)
        var header = "Package \(imported.config.name), imported by hanfs import from \(file). Its attributes: hanfs.conf(5)."
        if !leftOut.isEmpty { header += "\nNot carried over:\n" + leftOut.map { "  " + $0 }.joined(separator: "\n") }
        let text = NativeWriter.render(imported.config, header: header)
        if let output {
            try Self.create(output, text)
            // Read back: what was written is a package file hanfs takes, and the same package.
            do {
                _ = try PackageLoader.load(output, installation: global.context().installation)
            } catch {
                for e in error.errors { Console.write("hanfs import: the written file does not read back: \(e)\n", to: .standardError) }
                throw ExitCode(ExitStatus.failure)
            }
            Console.write("hanfs import: wrote \(output)\(hooks.map { " and \($0)" } ?? "")\n", to: .standardError)
        } else {
            Console.write(text, to: .standardOutput)
        }
        for line in leftOut { Console.write("hanfs import: not carried over: \(line)\n", to: .standardError) }
        if let pacemaker, let output {
            Console.write(Self.pacemakerCommands(pacemaker, imported, config: output), to: .standardOutput)
        }
    }

    /// A new file, never one that is there.
    static func create(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            Console.write("hanfs import: \(path): \(errno == EEXIST ? "there already: not overwritten" : String(cString: strerror(errno)))\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw ExitCode(ExitStatus.failure) }
    }

    /// The commands that make the package a Pacemaker resource: its
    /// monitor interval, its start and stop timeouts (run_script_timeout,
    /// halt_script_timeout) and its node order (node_name) from the package.
    static func pacemakerCommands(_ tool: String, _ imported: TextFormats.Imported, config: String) -> String {
        let name = imported.config.name
        func seconds(_ key: String, _ fallback: Int) -> Int {
            imported.clusterSettings[key].flatMap { Int($0) }.map { max($0, 60) } ?? fallback
        }
        let ops = "op start timeout=\(seconds("run_script_timeout", 300))s op stop timeout=\(seconds("halt_script_timeout", 300))s "
            + "op monitor interval=\(Int(max(imported.config.monitor.interval, 10)))s timeout=30s"
        var lines = [
            "# Package \(name) under Pacemaker (hanfs import). Fencing comes first: a fence device for every node and",
            "# stonith-enabled=true (Serviceguard fenced by itself; see README.md, Under Pacemaker).",
        ]
        let scores = imported.nodes.enumerated().map { ($0.element, 100 - 10 * $0.offset) }
        if tool == "crm" {
            lines.append("crm configure primitive \(name) ocf:hanfs:package params config=\(config) \(ops)")
            for (node, score) in scores { lines.append("crm configure location \(name)-on-\(node) \(name) \(score): \(node)") }
        } else {
            lines.append("pcs resource create \(name) ocf:hanfs:package config=\(config) \(ops)")
            if !scores.isEmpty {
                lines.append("pcs constraint location \(name) prefers " + scores.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
