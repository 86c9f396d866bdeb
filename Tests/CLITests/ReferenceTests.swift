import Foundation
import TestSupport
import Testing

/// The references made from the code: the REPL's help and the README's
/// tables come from the same declarations, and the README cannot drift.
@Suite struct Reference {
    @Test func theReadmesPrimitiveTablesAreTheCodes() throws {
        let out = try hanfs(["doc", "primitives"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("| `vg_activate(name, {takeover, ownership, timeout})` |"))
        #expect(try readmeBlock("primitives") == out.stdout, "README.md is behind the code: run `make docs`")
    }

    @Test func everyPrimitiveHasHelp() throws {
        let dir = try Scratch()
        let script = try dir.write(
            "help.lua",
            """
            help()
            help(mount)
            help("log.info")
            help(mount_all)
            print(pcall(help, "nope"))
            """)
        let out = try hanfs(["run", script])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains { $0.hasPrefix("Storage: vg_activate, vg_deactivate, fsck, mount, umount, mount_all, umount_all") })
        #expect(lines.contains("mount(fs, {timeout, retries})"))
        #expect(lines.contains("log.info(...)"))
        // The composite written in Lua is found by its value too.
        #expect(lines.contains { $0.hasPrefix("mount_all(list, {") })
        #expect(lines.last { !$0.isEmpty } == "false\tnope is not a primitive: help() lists them")
        // Every primitive listed has its own text.
        let listed = try #require(out.stdout.components(separatedBy: "\n\nhelp(name)").first)
        let names = listed.split(separator: "\n").flatMap { line in
            line.split(separator: ":", maxSplits: 1).last!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(names.count > 45)
        let each = try dir.write("each.lua", names.map { "help(\"\($0)\")" }.joined(separator: "\n"))
        let all = try hanfs(["run", each])
        #expect(all.status == 0, "\(all.stderr)")
    }
}

/// The attribute table's references: the README's tables, hanfs.conf(5),
/// and the agent's meta-data, each checked by the tools that read them.
@Suite struct AttributeReferences {
    @Test func theReadmesAttributeTablesAreTheCodes() throws {
        let out = try hanfs(["doc", "attributes"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("| `package.mount_concurrency` | `concurrent_mount_and_umount_operations` |"))
        #expect(try readmeBlock("attributes") == out.stdout, "README.md is behind the code: run `make docs`")
    }

    @Test func theManPageIsTheCodesAndReadsWithoutWarnings() throws {
        let out = try hanfs(["doc", "hanfs.conf.5"])
        #expect(out.status == 0)
        let file = checkoutDirectory + "/doc/hanfs.conf.5"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == out.stdout, "doc/hanfs.conf.5 is behind the code: run `make docs`")
        let groff = try output(["groff", "-man", "-ww", "-z", file])
        #expect(groff.status == 0 && groff.stderr.isEmpty, "\(groff.stderr)")
        let lexgrog = try output(["lexgrog", file])
        #expect(lexgrog.stdout.contains("hanfs.conf - the package file"), "\(lexgrog.stdout)")
        // Every attribute of every format is in it.
        for name in ["package.mount_concurrency", "concurrent_mount_and_umount_operations", "CONCURRENT_MOUNT_OPERATIONS", "XFS", "hooks_file"] {
            #expect(out.stdout.contains(name.replacingOccurrences(of: "-", with: "\\-")), "\(name)")
        }
    }

    /// hanfs(8): made from the command line's declarations, every command
    /// and its options in it, read by groff, man and lexgrog without a warning.
    @Test func hanfs8IsTheCommandLinesAndReadsWithoutWarnings() throws {
        let out = try hanfs(["doc", "hanfs.8"])
        #expect(out.status == 0, "\(out.stderr)")
        let file = checkoutDirectory + "/doc/hanfs.8"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == out.stdout, "doc/hanfs.8 is behind the code: run `make docs`")
        let groff = try output(["groff", "-man", "-ww", "-z", file])
        #expect(groff.status == 0 && groff.stderr.isEmpty, "\(groff.stderr)")
        let man = try output(["man", "--warnings", "-l", file], environment: ["MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"])
        #expect(man.status == 0 && man.stderr.isEmpty, "\(man.stderr)")
        #expect(try output(["lexgrog", file]).stdout.contains("hanfs - run the control scripts of a highly available NFS package"))
        for command in ["start", "stop", "status", "validate", "lock-migration", "monitor", "run", "repl", "serviceguard", "ocf", "lab"] {
            #expect(out.stdout.contains(".SS hanfs \(command.replacingOccurrences(of: "-", with: "\\-"))\n"), "\(command)")
        }
        for option in ["\\-\\-takeover", "\\-\\-json", "\\-\\-prometheus", "\\-\\-node", "\\-\\-dry\\-run"] {
            #expect(out.stdout.contains(option), "\(option)")
        }
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"] { #expect(out.stdout.contains(".SH \(section)\n")) }
    }

    /// Bash completion (ArgumentParser's): the commands, and a command's options.
    @Test func bashCompletesCommandsAndOptions() throws {
        let dir = try Scratch()
        let script = try dir.write("hanfs.bash", try hanfs(["--generate-completion-script", "bash"]).stdout)
        func complete(_ words: [String]) throws -> [String] {
            let line = words.joined(separator: " ")
            let out = try output(["bash", "-c", """
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _hanfs hanfs "${@: -1}" "${@: -2:1}"; printf '%s\\n' "${COMPREPLY[@]}"
                """, "bash", script] + words)
            #expect(out.status == 0, "\(line): \(out.stderr)")
            return out.stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["hanfs", "st"]) == ["start", "stop", "status", "statd-callout"])
        #expect(try complete(["hanfs", "status", "--j"]) == ["--json"])
    }

    /// zsh reads the zsh completion and defines its function.
    @Test func zshReadsItsCompletion() throws {
        let dir = try Scratch()
        let script = try dir.write("_hanfs", try hanfs(["--generate-completion-script", "zsh"]).stdout)
        let zsh = try output(["zsh", "-f", "-c", "autoload -U compinit; compinit -u -d \"$1/zcompdump\"; source \"$2\"; print -r -- ${+functions[_hanfs]}",
                              "zsh", dir.path, script])
        #expect(zsh.status == 0 && zsh.stdout == "1\n", "\(zsh.stdout)\(zsh.stderr)")
    }

    /// The shipped logrotate file, run by logrotate on a package log: the
    /// log is copied and emptied in place (a running monitor keeps it open),
    /// and hanfs goes on writing to it.
    @Test func logrotateRotatesAPackageLogAndHanfsGoesOnWritingIt() throws {
        let dir = try Scratch()
        let logs = dir.path + "/log", run = dir.path + "/run"
        let conf = try dir.write("logrotate.conf", try String(contentsOfFile: checkoutDirectory + "/packaging/logrotate", encoding: .utf8)
            .replacingOccurrences(of: "/var/log/hanfs", with: logs))
        let package = try dir.write("p.lua", "package { name = \"p\" }\n")
        let env = ["HANFS_LOG_DIR": logs, "HANFS_RUN_DIR": run]
        #expect(try hanfs(["start", "--config", package], environment: env).status == 0)
        let rotate = try output(["logrotate", "-f", "-s", dir.path + "/state", conf])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        let rotated = try String(contentsOfFile: logs + "/p.log.1", encoding: .utf8)
        #expect(rotated.contains("start p done"))
        #expect(FileManager.default.fileExists(atPath: logs + "/p.log.jsonl.1"))
        #expect(try hanfs(["stop", "--config", package], environment: env).status == 0)
        let current = try String(contentsOfFile: logs + "/p.log", encoding: .utf8)
        #expect(current.contains("stop p done") && !current.contains("start p done"), "\(current)")
    }

    @Test func theAgentsMetaDataIsValid() throws {
        let dir = try Scratch()
        let out = try hanfs(["ocf", "meta-data"])
        #expect(out.status == 0)
        let file = try dir.write("meta-data.xml", out.stdout)
        let check = try output(["xmllint", "--noout", "--dtdvalid", "/usr/share/resource-agents/ra-api-1.dtd", file])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(out.stdout.contains("<parameter name=\"config\" unique=\"1\" required=\"1\">"))
        #expect(out.stdout.contains("<action name=\"monitor\" timeout=\"30s\" interval=\"20s\" depth=\"0\" />"))
    }
}
