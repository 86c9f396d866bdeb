import Foundation
import Primitives

/// The lab's cluster manager: a real Corosync 3 + Pacemaker 2 cluster of the
/// lab's two nodes, each running its own corosync and pacemakerd inside the
/// node's namespaces, with a fence device for each node (`fence_hanfs_lab`,
/// which powers the node off the way `hanfs lab crash` does) and the package
/// as the resource `ocf:hanfs:package`.
///
/// What a node sees of it, besides its private /run, /dev/shm,
/// /var/lib/pacemaker and /var/lib/corosync: the cluster's corosync.conf
/// over /etc/corosync/corosync.conf, and two read-only overlays that add
/// the fence agent to /usr/sbin and the provider `hanfs` to
/// /usr/lib/ocf/resource.d, both links to the hanfs binary. The CIB each
/// node boots with is seeded (made offline with cibadmin, so Pacemaker
/// checks it against its schema), so the first election waits dc-deadtime
/// (5 s), not 20 s.
public struct PacemakerCluster: Sendable {
    public let dir: String
    public let nodes: [String: String]
    /// The package's resource, and its package file.
    public let resource: String
    public let config: String
    /// Corosync's token timeout (ms): how soon a silent node is declared lost.
    public let token: Int

    public init(dir: String, nodes: [String: String], resource: String, config: String, token: Int = 1000) {
        self.dir = dir
        self.nodes = nodes
        self.resource = resource
        self.config = config
        self.token = token
    }

    /// The same cluster, watching another resource.
    public func watching(_ resource: String) -> PacemakerCluster {
        PacemakerCluster(dir: dir, nodes: nodes, resource: resource, config: config, token: token)
    }

    var corosyncConf: String { "\(dir)/corosync.conf" }
    var seed: String { "\(dir)/cib-seed.xml" }
    var sbin: String { "\(dir)/sbin" }
    var agents: String { "\(dir)/resource.d" }

    /// The private directories a cluster node needs besides a node's own.
    public static let privateDirectories = ["/dev/shm", "/var/lib/pacemaker", "/var/lib/corosync"]

    /// What a cluster node mounts as it boots.
    public var mounts: [LabSite.Host.Mount] {
        [.bind(corosyncConf, on: "/etc/corosync/corosync.conf"), .overlay(sbin, on: "/usr/sbin"),
         .overlay(agents, on: "/usr/lib/ocf/resource.d")]
    }

    // MARK: made once, before the nodes boot

    /// corosync.conf, the agents' links, the seeded CIB.
    public func prepare(hanfs: String, labDirectory: String) throws {
        let fm = FileManager.default
        for d in [sbin, "\(agents)/hanfs"] { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try fm.createSymbolicLink(atPath: "\(sbin)/\(LabFenceAgent.name)", withDestinationPath: hanfs)
        try fm.createSymbolicLink(atPath: "\(agents)/hanfs/package", withDestinationPath: hanfs)
        try corosync().write(toFile: corosyncConf, atomically: true, encoding: .utf8)
        try cib(labDirectory: labDirectory)
    }

    /// Corosync 3 over knet/UDP, two nodes, votequorum's two_node (which
    /// also waits for both nodes at the first start: wait_for_all).
    func corosync() -> String {
        let list = nodes.keys.sorted().enumerated().map { i, name in
            "    node {\n        name: \(name)\n        nodeid: \(i + 1)\n        ring0_addr: \(nodes[name]!)\n    }\n"
        }.joined()
        return """
            # The lab's cluster (hanfs lab): knet over UDP between the nodes' namespaces.
            totem {
                version: 2
                cluster_name: hanfslab
                transport: knet
                crypto_cipher: none
                crypto_hash: none
                token: \(token)
                interface {
                    linknumber: 0
                    knet_transport: udp
                }
            }
            nodelist {
            \(list)}
            quorum {
                provider: corosync_votequorum
                two_node: 1
            }
            logging {
                to_logfile: yes
                logfile: /var/log/cluster/corosync.log
                to_stderr: no
                to_syslog: no
                timestamp: hires
            }

            """
    }

    /// The CIB both nodes boot with: fencing on (a fenced node is powered
    /// off, not rebooted: the lab boots it again), a fence device for each
    /// node that never runs on the node it fences, and the package with
    /// the timeouts its agent advises, placed on node1 first and then
    /// staying where it runs.
    func cib(labDirectory: String) throws {
        func nvpairs(_ id: String, _ pairs: [(String, String)]) -> String {
            pairs.map { "<nvpair id=\"\(id)-\($0.0)\" name=\"\($0.0)\" value=\"\(xml($0.1))\"/>" }.joined()
        }
        let names = nodes.keys.sorted()
        let fences = names.map { node in
            """
            <primitive id="fence-\(node)" class="stonith" type="\(LabFenceAgent.name)">\
            <instance_attributes id="fence-\(node)-params">\
            \(nvpairs("fence-\(node)", [("pcmk_host_list", node), ("pcmk_host_check", "static-list"), ("lab_dir", labDirectory)]))\
            </instance_attributes>\
            <operations><op id="fence-\(node)-monitor" name="monitor" interval="60s" timeout="20s"/></operations></primitive>
            """
        }.joined()
        let configuration = """
            <configuration><crm_config><cluster_property_set id="cib-bootstrap-options">\
            \(nvpairs("opt", [("stonith-enabled", "true"), ("stonith-action", "off"), ("stonith-timeout", "30s"),
                              ("dc-deadtime", "5s"), ("cluster-recheck-interval", "1min")]))\
            </cluster_property_set></crm_config><nodes/><resources>\(fences)\
            <primitive id="\(resource)" class="ocf" provider="hanfs" type="package">\
            <instance_attributes id="\(resource)-params">\(nvpairs(resource, [("config", config)]))</instance_attributes>\
            <operations>\
            <op id="\(resource)-start" name="start" interval="0s" timeout="60s"/>\
            <op id="\(resource)-stop" name="stop" interval="0s" timeout="60s"/>\
            <op id="\(resource)-monitor" name="monitor" interval="10s" timeout="30s"/>\
            </operations></primitive></resources><constraints>\
            \(names.map { "<rsc_location id=\"fence-\($0)-not-on-\($0)\" rsc=\"fence-\($0)\" node=\"\($0)\" score=\"-INFINITY\"/>" }.joined())\
            <rsc_location id="\(resource)-first-on-\(names[0])" rsc="\(resource)" node="\(names[0])" score="50"/>\
            </constraints><rsc_defaults><meta_attributes id="rsc-options">\
            \(nvpairs("rsc-options", [("resource-stickiness", "100")]))</meta_attributes></rsc_defaults></configuration>
            """
        let empty = try LabSite.run(Command(["cibadmin", "--empty"], timeout: 30))
        try Data(empty.stdout).write(to: URL(fileURLWithPath: seed))
        try LabSite.run(Command(
            ["cibadmin", "--replace", "--scope", "configuration", "--xml-text", configuration], timeout: 30,
            environment: ["CIB_file": seed]))
    }

    // MARK: a node boots

    /// What a cluster node's boot starts after its NFS daemons: corosync,
    /// then (once its IPC answers) pacemakerd, with a service's clean environment.
    public func boot(_ node: String, in site: LabSite) throws {
        let on = { (argv: [String]) in _ = try site.sh(site.inHost(node, argv)) }
        try on(["install", "-d", "-o", "hacluster", "-g", "haclient", "-m", "0750", "/var/lib/pacemaker/cib",
                "/var/lib/pacemaker/pengine", "/var/lib/pacemaker/blackbox", "/var/lib/pacemaker/cores"])
        try on(["install", "-o", "hacluster", "-g", "haclient", "-m", "0600", seed, "/var/lib/pacemaker/cib/cib.xml"])
        try on(["install", "-d", "-o", "hacluster", "-g", "haclient", "-m", "0770", "/var/log/pacemaker"])
        try on(["install", "-d", "/var/log/cluster", "/var/log/crmsh"])
        try site.spawn(node, LabSite.cleanEnvironment + ["corosync", "-f"], log: "\(dir)/\(node).corosync.out")
        let until = Monotonic.now() + 20
        while !((try? site.sh(site.inHost(node, ["corosync-cmapctl", "totem.cluster_name"]), check: false))?.succeeded ?? false) {
            guard Monotonic.now() < until else { throw LabError("corosync on \(node) did not answer within 20 s") }
            usleep(100_000)
        }
        try site.spawn(node, LabSite.cleanEnvironment + ["pacemakerd"], log: "\(dir)/\(node).pacemakerd.out")
    }

    // MARK: what the cluster says

    /// The cluster as `crm_mon` in `node` shows it.
    public struct State: Sendable {
        public var online: Set<String> = []
        public var unclean: Set<String> = []
        public var hasDC = false
        /// The nodes where the resource is active, its role, and whether it failed.
        public var runningOn: [String] = []
        public var failed = false
        public var role = ""
        /// Failed actions of the resource: `nfspkg_monitor_0 on node2: why`.
        public var failures: [String] = []
    }

    public func state(from node: String, in site: LabSite) -> State? {
        let argv = LabSite.cleanEnvironment + ["crm_mon", "-1", "-r", "--output-as=xml"]
        guard let r = try? site.sh(site.inHost(node, argv), timeout: 10, check: false), r.succeeded else { return nil }
        var state = State()
        var inResource = false
        for (tag, attributes) in Self.elements(r.stdoutText) {
            switch tag {
            case "current_dc": state.hasDC = attributes["present"] == "true"
            case "node" where inResource: attributes["name"].map { state.runningOn.append($0) }
            case "node":
                guard let name = attributes["name"] else { continue }
                if attributes["online"] == "true" && attributes["pending"] == "false" { state.online.insert(name) }
                if attributes["unclean"] == "true" { state.unclean.insert(name) }
            case "resource" where attributes["id"] == resource:
                // (Where it runs: the nodes of an active resource; an inactive one lists none that count.)
                inResource = attributes["active"] == "true"
                state.role = attributes["role"] ?? ""
                state.failed = attributes["failed"] == "true"
            case "/resource": inResource = false
            case "failure" where attributes["op_key"]?.hasPrefix(resource + "_") ?? false:
                state.failures.append("\(attributes["op_key"]!) on \(attributes["node"] ?? "?"): \(attributes["exitreason"] ?? attributes["exitstatus"] ?? "")")
            default: break
            }
        }
        return state
    }

    /// What Pacemaker's probe of the resource on `node` returned (its OCF
    /// exit status, 7 for not running), as the CIB's status section records
    /// it, read in `from`; nil before the probe.
    public func probe(on node: String, from: String, in site: LabSite) -> Int32? {
        let xpath = "//node_state[@uname='\(node)']//lrm_resource[@id='\(resource)']"
        guard let r = try? site.sh(site.inHost(from, LabSite.cleanEnvironment + ["cibadmin", "--query", "--xpath", xpath]),
                                   timeout: 10, check: false), r.succeeded
        else { return nil }
        return Self.elements(r.stdoutText).first { $0.0 == "lrm_rsc_op" && $0.1["operation_key"] == "\(resource)_monitor_0" }
            .flatMap { $0.1["rc-code"] }.flatMap { Int32($0) }
    }

    /// Polls `crm_mon` in `node` until `done` holds, for at most `within` seconds.
    @discardableResult
    public func wait(_ what: String, from node: String, in site: LabSite, within: Double, until done: (State) -> Bool) throws
        -> State
    {
        let until = Monotonic.now() + within
        var last: State?
        while Monotonic.now() < until {
            if let s = state(from: node, in: site) {
                last = s
                if done(s) { return s }
            }
            usleep(100_000)
        }
        let seen = last.map {
            "online \($0.online.sorted()), \(resource) \($0.role) on \($0.runningOn)\($0.failed ? " (failed)" : "")"
                + ($0.failures.isEmpty ? "" : "; failed actions: \($0.failures.joined(separator: "; "))")
        }
        throw LabError("\(what): not within \(Int(within)) s (crm_mon in \(node): \(seen ?? "no answer"))")
    }

    /// Start tags (and end tags, as `/name`) with their attributes, in
    /// order: enough of XML for crm_mon's output, which has no text content.
    static func elements(_ text: String) -> [(String, [String: String])] {
        var out: [(String, [String: String])] = []
        for chunk in text.split(separator: "<").dropFirst() {
            guard let end = chunk.firstIndex(of: ">") else { continue }
            let body = chunk[..<end]
            let isEnd = body.first == "/"
            let bare = body.dropFirst(isEnd ? 1 : 0).prefix { !$0.isWhitespace && $0 != "/" }
            let name = (isEnd ? "/" : "") + bare
            var attributes: [String: String] = [:]
            var rest = body.dropFirst(name.count)
            while let eq = rest.firstIndex(of: "="), let open = rest[eq...].firstIndex(of: "\"") {
                let key = rest[..<eq].trimmingCharacters(in: .whitespaces)
                guard let close = rest[rest.index(after: open)...].firstIndex(of: "\"") else { break }
                attributes[key] = String(rest[rest.index(after: open)..<close])
                rest = rest[rest.index(after: close)...]
            }
            out.append((name, attributes))
        }
        return out
    }

    // MARK: what it did

    /// Pacemaker's log lines that tell a failover, with what each means.
    /// Pacemaker's log lines that tell a failover of the resource, with what each means.
    var milestones: [(pattern: String, meaning: String)] {
        let r = NSRegularExpression.escapedPattern(for: resource)
        return [
            ("Node (\\S+) state is now lost", "corosync: $1 lost"),
            ("Requesting fencing \\((\\w+)\\) (of|targeting) node (\\S+)", "fencing ($1) of $3 requested"),
            ("Operation '(\\w+)' \\[\\d+\\] targeting (\\S+) using (\\S+) returned 0", "fence device $3: $1 of $2 done"),
            ("Peer (\\S+) was terminated \\((\\w+)\\) by (\\S+)", "$1 fenced ($2) by $3"),
            ("Initiating (stop|start) operation \(r)_(stop|start)_0 (locally )?on (\\S+)", "$1 of the package initiated on $4"),
            ("Result of (stop|start) operation for \(r) on (\\S+): (\\S+)", "$1 of the package on $2: $3"),
            ("Node (\\S+) state is now member", "corosync: $1 member"),
        ]
    }

    /// The milestones in the nodes' pacemaker.log since `since` (wall-clock),
    /// each once (the first node to log it): offset from `since`, and meaning.
    public func milestones(since: Date, logs: [String]) -> [(offset: Double, text: String)] {
        var seen = Set<String>()
        var out: [(offset: Double, text: String)] = []
        let year = Calendar.current.component(.year, from: since)
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.dateFormat = "yyyy MMM dd HH:mm:ss.SSS"
        let compiled = milestones.compactMap { m in (try? NSRegularExpression(pattern: m.pattern)).map { ($0, m.meaning) } }
        for log in logs {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 3)
                guard fields.count == 4, let time = format.date(from: "\(year) \(fields[0]) \(fields[1]) \(fields[2])"),
                    time >= since.addingTimeInterval(-0.001)
                else { continue }
                let s = String(line)
                for (regex, meaning) in compiled {
                    guard let m = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else { continue }
                    var said = meaning
                    for g in (1..<m.numberOfRanges).reversed() {
                        let r = Range(m.range(at: g), in: s).map { String(s[$0]) } ?? ""
                        said = said.replacingOccurrences(of: "$\(g)", with: r)
                    }
                    if seen.insert(said).inserted { out.append((time.timeIntervalSince(since), said)) }
                    break
                }
            }
        }
        return out.sorted { $0.offset < $1.offset }
    }
}

func xml(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
