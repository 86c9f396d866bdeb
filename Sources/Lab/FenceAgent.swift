import Foundation
import Primitives

/// The lab's fence agent, `fence_hanfs_lab`: what a power switch is to a
/// real cluster. Pacemaker's fencer runs it (a link to the hanfs binary in
/// the nodes' /usr/sbin) the way it runs every RHCS-style agent: the
/// arguments as `key=value` lines on stdin (`action`, `port` or `plug`, and
/// the device's `lab_dir`), or `-o ACTION -n NODE` on the command line.
///
/// off (and reboot: the lab does not power a node on, `hanfs lab crash`
/// does) powers the node off exactly as `hanfs lab crash` does: its links
/// down, every process in it killed, its disks left as they were. It never
/// fences the node it runs in.
public enum LabFenceAgent {
    public static let name = "fence_hanfs_lab"

    /// Runs one request; returns the exit status (0 done, 1 failed, 2 off for `status`) and stdout.
    public static func run(arguments: [String], input: String) -> (status: Int32, output: String) {
        var request: [String: String] = [:]
        for line in input.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            request[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        var i = 0
        while i + 1 < arguments.count {
            switch arguments[i] {
            case "-o", "--action": request["action"] = arguments[i + 1]
            case "-n", "--plug": request["port"] = arguments[i + 1]
            case "--lab-dir": request["lab_dir"] = arguments[i + 1]
            default: break
            }
            i += 1
        }
        let action = request["action"] ?? request["option"] ?? "reboot"
        let node = request["port"] ?? request["plug"] ?? request["nodename"] ?? ""
        let lab = TwoNodeLab(dir: request["lab_dir"] ?? TwoNodeLab.defaultDirectory, hanfs: "")
        let started = Monotonic.now()
        func log(_ result: String) {
            let line = "\(ISO8601DateFormatter.fractional.string(from: Date())) \(NodeSettings.kernelNodeName) \(action) \(node): "
                + "\(result) (\(Int(((Monotonic.now() - started) * 1000).rounded())) ms)\n"
            // One write of a whole line, appended: both nodes' agents may log at once.
            let fd = open(lab.fenceLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { return }
            _ = Array(line.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        switch action {
        case "metadata": return (0, metadata)
        case "monitor", "validate-all": return (FileManager.default.fileExists(atPath: lab.dir) ? 0 : 1, "")
        case "list": return (0, TwoNodeLab.nodes.joined(separator: "\n") + "\n")
        case "status":
            guard TwoNodeLab.nodes.contains(node) else { return (1, "") }
            return lab.site.isRunning(node) ? (0, "Status: ON\n") : (2, "Status: OFF\n")
        case "off", "reboot":
            guard TwoNodeLab.nodes.contains(node) else {
                log("refused: no such node")
                return (1, "")
            }
            guard !lab.site.isThisHost(node) else {
                log("refused: that is the node this agent runs in")
                return (1, "")
            }
            do {
                try lab.powerOff(node)
                guard !lab.site.isRunning(node) else {
                    log("failed: processes are left")
                    return (1, "")
                }
                log("done: powered off")
                return (0, "")
            } catch {
                log("failed: \(error)")
                return (1, "")
            }
        case "on":
            log("refused: the lab powers nodes on (hanfs lab crash boots the node again)")
            return (1, "")
        default: return (1, "")
        }
    }

    static let metadata = """
        <?xml version="1.0" ?>
        <resource-agent name="\(name)" shortdesc="Powers a node of hanfs's lab off">
        <longdesc>The fence device of each node of `hanfs lab`: off (and reboot) take the node's links down and kill every process in its namespaces, as a power loss does; the lab, not this agent, powers it on again. For the lab only.</longdesc>
        <vendor-url>https://github.com/hanfs</vendor-url>
        <parameters>
        \t<parameter name="action" unique="0" required="0">
        \t\t<getopt mixed="-o, --action=[action]" />
        \t\t<content type="string" default="reboot" />
        \t\t<shortdesc lang="en">Fencing action</shortdesc>
        \t</parameter>
        \t<parameter name="port" unique="0" required="0">
        \t\t<getopt mixed="-n, --plug=[node]" />
        \t\t<content type="string" />
        \t\t<shortdesc lang="en">The lab's node to power off (node1, node2)</shortdesc>
        \t</parameter>
        \t<parameter name="lab_dir" unique="0" required="0">
        \t\t<getopt mixed="--lab-dir=[directory]" />
        \t\t<content type="string" default="\(TwoNodeLab.defaultDirectory)" />
        \t\t<shortdesc lang="en">The lab's directory ($HANFS_LAB_DIR when it was made)</shortdesc>
        \t</parameter>
        </parameters>
        <actions>
        \t<action name="on" automatic="0"/>
        \t<action name="off" />
        \t<action name="reboot" />
        \t<action name="status" />
        \t<action name="list" />
        \t<action name="monitor" />
        \t<action name="metadata" />
        \t<action name="validate-all" />
        </actions>
        </resource-agent>

        """
}

extension ISO8601DateFormatter {
    /// Wall-clock times as the package log's records have them (milliseconds).
    static var fractional: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
