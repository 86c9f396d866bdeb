import Foundation
import Primitives
import TestSupport
import Testing

/// start and stop on real parts: LVM metadata, ext4 and xfs, exportfs,
/// addresses on a veth, all inside namespaces of the lab's own.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loop devices, namespaces, mounts"))
struct StartStop {
    /// A native package file for the lab: one VG, its file systems under
    /// /srv/nfs, each exported, and the package address 192.0.2.10.
    static func package(_ lab: Lab, name: String = "labpkg", extra: String = "", exports: [String]? = nil,
                        address: String = "192.0.2.10/24") throws -> String {
        var text = "package { name = \"\(name)\", fsck_concurrency = 2, mount_concurrency = 2, dad_timeout = 0.3 \(extra) }\n"
        for vg in lab.physicalVolumes.keys.sorted() { text += "vg \"\(vg)\"\n" }
        for (i, dev) in lab.devices.enumerated() {
            let type = lab.types[i]
            text += "filesystem { device = \"\(dev)\", directory = \"/srv/nfs/fs\(i)\", type = \"\(type)\" }\n"
        }
        for (i, dir) in (exports ?? lab.devices.indices.map { "/srv/nfs/fs\($0)" }).enumerated() {
            text += "export { directory = \"\(dir)\", clients = \"192.0.2.0/24\", options = \"rw,no_subtree_check\", fsid = \(101 + i) }\n"
        }
        text += "address { address = \"\(address)\", interface = \"\(lab.interface)\" }\n"
        let path = "\(lab.dir)/\(name).lua"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Nothing of the package is left on the node.
    static func expectClean(_ lab: Lab, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for vg in lab.physicalVolumes.keys { #expect(try lab.tags(vg) == [], comment, sourceLocation: sourceLocation) }
        #expect(try lab.mountPoints() == [], comment, sourceLocation: sourceLocation)
        #expect(try lab.exportTable() == "", comment, sourceLocation: sourceLocation)
        #expect(try !lab.addresses().contains("192.0.2.10"), comment, sourceLocation: sourceLocation)
        #expect(try !lab.inNode(["ls", "/run/hanfs"], check: false).stdout.contains(".started"), comment,
                sourceLocation: sourceLocation)
    }

    @Test func startThenStopOnRealParts() throws {
        let lab = try Lab(fileSystems: ["ext4", "xfs"])
        let config = try Self.package(lab)
        // The client knew the address at another MAC: the announcement must correct it.
        try lab.inClient(["ip", "neigh", "replace", "192.0.2.10", "lladdr", "02:00:00:00:00:99", "dev", lab.interface + "c", "nud", "stale"])

        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.tags("vglab") == ["node1"])
        #expect(try lab.mountPoints().sorted() == ["/srv/nfs/fs0", "/srv/nfs/fs1"])
        let mountinfo = try lab.inNode(["cat", "/proc/self/mountinfo"]).stdout
        #expect(mountinfo.contains("/srv/nfs/fs0 ") && mountinfo.contains(" ext4 \(lab.devices[0])"))
        #expect(mountinfo.contains(" xfs \(lab.devices[1])"))
        let exports = try lab.inNode(["exportfs", "-v"]).stdout
        #expect(exports.contains("/srv/nfs/fs0") && exports.contains("fsid=101"))
        #expect(exports.contains("/srv/nfs/fs1") && exports.contains("fsid=102"))
        #expect(try lab.addresses().contains("inet 192.0.2.10/24"))
        #expect(try lab.inNode(["cat", "/run/hanfs/labpkg.started"]).stdout.hasPrefix("started on node1"))

        // The gratuitous ARPs (in the background) reach the client.
        let mac = try lab.sh(["ip", "-n", lab.nodeNS, "-o", "link", "show", lab.interface]).stdout
            .split(separator: " ").drop { $0 != "link/ether" }.dropFirst().first.map(String.init) ?? "?"
        var neighbour = ""
        for _ in 0..<30 {
            neighbour = try lab.inClient(["ip", "neigh", "show", "192.0.2.10"]).stdout
            if neighbour.contains(mac) { break }
            usleep(100_000)
        }
        #expect(neighbour.contains(mac), "client's neighbour entry: \(neighbour)")

        // The package log has every command with its status and duration.
        let log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("start [check and mount 2 file system(s)] info ran: mount -t ext4 \(lab.devices[0]) /srv/nfs/fs0 (exited with status 0,"))
        #expect(log.contains("start [add address 192.0.2.10] info ran: ip addr add 192.0.2.10/24 dev \(lab.interface) (exited with status 0"))

        // status shows every part up; a second start changes nothing.
        let status = try lab.hanfs(["status", "--config", config])
        #expect(status.stdout.contains("package labpkg on node1: started here"))
        #expect(status.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("  up ") }, "\(status.stdout)")
        let again = try lab.hanfs(["start", "--config", config])
        #expect(again.status == 0)
        // Read from the records, which also show that the second start ran and what it ran.
        let records = PackageEvents.read("\(lab.logDir)/labpkg.log.jsonl")
        let secondStart = try #require(records.lastIndex { $0["event"] as? String == "action" && $0["phase"] as? String == "start" })
        let commands = records[secondStart...].filter { $0["event"] as? String == "command" }.compactMap { $0["argv"] as? [String] }
        #expect(records[secondStart...].contains { $0["event"] as? String == "action" && $0["phase"] as? String == "done" })
        #expect(commands.contains { $0.first == "vgs" }, "the second start looked: \(commands)")
        #expect(!commands.contains { ["mount", "vgchange"].contains($0.first) || $0.starts(with: ["exportfs", "-o"]) }, "\(commands)")

        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
        try Self.expectClean(lab)
        let stopAgain = try lab.hanfs(["stop", "--config", config])
        #expect(stopAgain.status == 0, "\(stopAgain.stderr)")
    }

    @Test func stopEndsAnnouncementsStillBeingSent() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try Self.package(lab, extra: ", arp_count = 100, arp_interval = 0.2")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        let announcing = { try processes(withCommandLine:
            "\(hanfsBinary) announce --interface \(lab.interface) --count 99 --interval 0.2 192.0.2.10") }
        #expect(try announcing().count == 1)
        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0)
        #expect(stop.stderr.contains("stopped the announcements of 192.0.2.10 still being sent"))
        #expect(try announcing().isEmpty)
    }

    @Test func anIPv6AddressWaitsForDADAndIsAdvertised() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try Self.package(lab, address: "2001:db8::10/64")
        try lab.inClient(["ip", "addr", "add", "2001:db8::100/64", "dev", lab.interface + "c", "nodad"])
        try lab.inClient(["ip", "neigh", "replace", "2001:db8::10", "lladdr", "02:00:00:00:00:99", "dev", lab.interface + "c", "nud", "stale"])
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        let line = try lab.addresses().split(separator: "\n").first { $0.contains("2001:db8::10/64") }
        #expect(line != nil && !line!.contains("tentative"), "\(String(describing: line))")
        let mac = try lab.sh(["ip", "-n", lab.nodeNS, "-o", "link", "show", lab.interface]).stdout
            .split(separator: " ").drop { $0 != "link/ether" }.dropFirst().first.map(String.init) ?? "?"
        var neighbour = ""
        for _ in 0..<30 {
            neighbour = try lab.inClient(["ip", "-6", "neigh", "show", "2001:db8::10"]).stdout
            if neighbour.contains(mac) { break }
            usleep(100_000)
        }
        #expect(neighbour.contains(mac), "client's neighbour entry: \(neighbour)")
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        #expect(try !lab.addresses().contains("2001:db8::10"))
    }

    /// The package log's events also reach a real syslog daemon (rsyslogd
    /// in the node, on a socket of its own), under the package's facility
    /// and identity, saying the package and the action.
    @Test func thePackageLogGoesToSyslogToo() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let socket = "\(lab.dir)/log.sock", messages = "\(lab.dir)/messages"
        let conf = try lab.writeScript("rsyslog.conf", """
            global(workDirectory="\(lab.dir)")
            module(load="imuxsock" SysSock.Use="off")
            input(type="imuxsock" Socket="\(socket)")
            template(name="plain" type="string" string="%syslogfacility-text%.%syslogseverity-text% %programname%:%msg%\\n")
            *.* action(type="omfile" file="\(messages)" template="plain")
            """)
        try lab.spawnInNode(["rsyslogd", "-n", "-f", conf, "-i", "\(lab.dir)/rsyslogd.pid"])
        #expect(eventually { FileManager.default.fileExists(atPath: socket) ? true : nil } == true, "rsyslogd made no socket")
        let config = try Self.package(lab, extra: ", syslog_facility = \"local3\", syslog_ident = \"hanfs-lab\"")
        let env = ["env", "HANFS_SYSLOG_SOCKET=\(socket)", hanfsBinary]
        #expect(try lab.inNode(env + ["start", "--config", config], check: false).status == 0)
        #expect(try lab.inNode(env + ["stop", "--config", config], check: false).status == 0)
        let seen = eventually { () -> String? in
            let text = (try? String(contentsOfFile: messages, encoding: .utf8)) ?? ""
            return text.contains("labpkg stop: stop labpkg done") ? text : nil
        } ?? ((try? String(contentsOfFile: messages, encoding: .utf8)) ?? "")
        #expect(seen.contains("local3.notice hanfs-lab: labpkg start: start labpkg on node1"), "\(seen)")
        #expect(seen.contains("local3.info hanfs-lab: labpkg start [export /srv/nfs/fs0 to 192.0.2.0/24]: ran: exportfs"), "\(seen)")
        #expect(seen.contains("local3.notice hanfs-lab: labpkg stop: stop labpkg done"), "\(seen)")
        // syslog = false: nothing more.
        let quiet = try Self.package(lab, name: "quiet", extra: ", syslog = false")
        #expect(try lab.inNode(env + ["start", "--config", quiet], check: false).status == 0)
        #expect(try lab.inNode(env + ["stop", "--config", quiet], check: false).status == 0)
        usleep(300_000)
        #expect(try !String(contentsOfFile: messages, encoding: .utf8).contains("quiet"))
        if let pid = Int32((try? String(contentsOfFile: "\(lab.dir)/rsyslogd.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            kill(pid, SIGTERM)
        }
        try Self.expectClean(lab)
    }

    /// On a link without ARP (a tunnel) there is nothing to probe or announce:
    /// said once, and the address is added.
    @Test func anAddressOnALinkWithoutARPIsAddedWithoutProbeOrAnnouncement() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.sh(["ip", "-n", lab.nodeNS, "tuntap", "add", "dev", "tun0", "mode", "tun"])
        try lab.sh(["ip", "-n", lab.nodeNS, "link", "set", "tun0", "up"])
        let config = try Self.package(lab, address: "198.51.100.10/24")
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "interface = \"\(lab.interface)\"", with: "interface = \"tun0\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stderr.contains("198.51.100.10: no duplicate address probe and no gratuitous ARP: tun0 is not an Ethernet link (hardware type 65534)"),
                "\(start.stderr)")
        let onTunnel = { try lab.sh(["ip", "-n", lab.nodeNS, "-o", "addr", "show", "dev", "tun0"]).stdout }
        #expect(try onTunnel().contains("198.51.100.10/24"))
        #expect(try processes(withCommandLine: "\(hanfsBinary) announce --interface tun0").isEmpty)
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        #expect(try !onTunnel().contains("198.51.100.10"))
    }

    @Test func stopKillsWhatHoldsTheFileSystems() throws {
        let lab = try Lab(fileSystems: ["ext4", "xfs"])
        let config = try Self.package(lab, extra: ", timeouts = { umount = 10 }")
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        // A working directory, an open file, and a map with no descriptor left open.
        try lab.spawnInNode(["sh", "-c", "cd /srv/nfs/fs0 && exec sleep 300"])
        try lab.spawnInNode(["sh", "-c", "exec 3>/srv/nfs/fs1/held; exec sleep 300"])
        try lab.inNode(["sh", "-c", "head -c 8192 /dev/zero > /srv/nfs/fs0/mapped"])
        try lab.spawnInNode([
            "python3", "-c",
            """
            import ctypes, os, time
            libc = ctypes.CDLL(None); libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            fd = os.open("/srv/nfs/fs0/mapped", os.O_RDONLY)
            assert libc.mmap(None, 8192, 1, 1, fd, 0) not in (None, ctypes.c_void_p(-1).value)
            os.close(fd)
            time.sleep(300)
            """,
        ])
        var holders: [Int32] = []
        for _ in 0..<50 {
            holders = lab.processesInNode()
            if holders.count >= 3 { break }
            usleep(100_000)
        }
        #expect(holders.count >= 3)
        let busy = try lab.inNode(["umount", "/srv/nfs/fs0"], check: false)
        #expect(busy.status != 0, "the file system should be busy")
        // And something mounted inside one of them: it goes first.
        try lab.inNode(["mkdir", "/srv/nfs/fs1/sub"])
        try lab.inNode(["mount", "-t", "tmpfs", "sub", "/srv/nfs/fs1/sub"])

        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("sent TERM to process"))
        #expect(stop.stderr.contains("by cwd"))
        #expect(stop.stderr.contains("by fd 3"))
        #expect(stop.stderr.contains("by mmap /srv/nfs/fs0/mapped"))
        #expect(stop.stderr.contains("ran: umount /srv/nfs/fs1/sub (exited with status 0"))
        try Self.expectClean(lab)
        #expect(lab.processesInNode().isEmpty)
    }

    @Test func aVolumeGroupTaggedByAnotherNodeIsRefused() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try Self.package(lab)
        try lab.lvm(["vgchange", "--addtag", "node2", "vglab"])
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 1)
        // The message says what to do, and the danger's condition.
        #expect(start.stderr.contains(
            "volume group vglab is tagged by another node node2; refusing. If node2 is down (powered off or fenced), take it over: hanfs start --takeover"),
            "\(start.stderr)")
        #expect(try lab.tags("vglab") == ["node2"])
        #expect(try lab.mountPoints() == [])
        // The operator has made sure node2 is down: taken over, and whose it was is logged and recorded.
        let takeover = try lab.hanfs(["start", "--takeover", "--config", config])
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(try lab.tags("vglab") == ["node1"])
        #expect(try lab.mountPoints() == ["/srv/nfs/fs0"])
        let records = PackageEvents.read("\(lab.logDir)/labpkg.log.jsonl")
        #expect(records.contains { $0["event"] as? String == "takeover" && $0["from"] as? String == "node2" && $0["volume_group"] as? String == "vglab" })
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        // A script (or the REPL) says so itself.
        try lab.lvm(["vgchange", "--addtag", "node2", "vglab"])
        let script = try lab.writeScript("takeover.lua", "print(vg_activate('vglab', {takeover = true}))")
        let byScript = try lab.hanfs(["run", script])
        #expect(byScript.stdout == "done\n", "\(byScript.stderr)")
        #expect(try lab.tags("vglab") == ["node1"])
    }

    @Test func systemIDOwnership() throws {
        let lab = try Lab(fileSystems: ["ext4"], systemID: "node1")
        let config = try Self.package(lab, extra: ", vg_ownership = \"system_id\"")
        try lab.lvm(["vgchange", "-y", "--systemid", "node2", "vglab"])
        let refused = try lab.hanfs(["start", "--config", config])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("volume group vglab is owned by system ID node2"))
        try Self.expectClean(lab)
        try lab.lvm(["vgchange", "-y", "--config", "local/extra_system_ids=[\"node2\"]", "--systemid", "", "vglab"])
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.sh(["vgs", "--foreign", "--noheadings", "-o", "vg_systemid", "vglab"]).stdout.contains("node1"))
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        // Stop gives it up, as it removes a tag: no system ID, for the next node's plain start.
        #expect(try lab.sh(["vgs", "--foreign", "--noheadings", "-o", "vg_systemid", "vglab"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test func twoStartsAtOnceOneIsRefused() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        // The probe for the address makes the first start last seconds.
        let config = try Self.package(lab, extra: ", dad_timeout = 3")
        let first = Thread.detachedResult { try lab.hanfs(["start", "--config", config]) }
        // Once the first holds the lock (it writes who it is into it); it keeps it for the 3 s probe.
        #expect(eventually(timeout: 10) {
            (try? lab.inNode(["cat", "/run/hanfs/labpkg.lock"], check: false))?.stdout.contains("start by pid") == true ? true : nil
        } == true)
        let second = try lab.hanfs(["start", "--config", config])
        #expect(second.status == 1)
        #expect(second.stderr.contains("package labpkg is busy: start by pid"), "\(second.stderr)")
        let firstResult = try first.value()
        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        try Self.expectClean(lab)
    }

    /// The README's first site hook example, as it is written there, on real
    /// parts: a step after mount that writes a file on each file system,
    /// removed by the step's undo when a later step fails.
    @Test func theReadmesSiteHookRunsAndIsUndone() throws {
        let readme = try String(contentsOfFile: checkoutDirectory + "/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "-- /etc/hanfs/site.lua: site hook example 1\n"))
        let end = try #require(readme[start.upperBound...].range(of: "```"))
        let lab = try Lab(fileSystems: ["ext4"])
        _ = try lab.writeScript("site/site.lua", String(readme[start.lowerBound..<end.lowerBound]))
        try FileManager.default.createDirectory(atPath: lab.dir + "/nosite", withIntermediateDirectories: true)
        let site = ["--site-dir", lab.dir + "/site"]
        let stamp = "/srv/nfs/fs0/.hanfs-mounted"
        func stamped() throws -> Bool { try lab.inNode(["test", "-e", stamp], check: false).status == 0 }

        let config = try Self.package(lab)
        #expect(try lab.hanfs(["start", "--config", config] + site).status == 0)
        #expect(try stamped())
        var log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("start [site: stamp the file systems] info ran: touch \(stamp) (exited with status 0"))
        #expect(try lab.hanfs(["stop", "--config", config] + site).status == 0)
        log = try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8)
        #expect(log.contains("stop [site: stamp the file systems] info ran: rm -f \(stamp) (exited with status 0"))
        try Self.expectClean(lab)

        // The exported directory is not there: the start fails after the hook, and is undone.
        let broken = try Self.package(lab, name: "broken", exports: ["/srv/nfs/fs0/nosuch"])
        let failed = try lab.hanfs(["start", "--config", broken] + site)
        #expect(failed.status == 1)
        let brokenLog = try String(contentsOfFile: "\(lab.logDir)/broken.log", encoding: .utf8)
        #expect(brokenLog.contains("start [site: stamp the file systems] info ran: touch \(stamp)"))
        #expect(brokenLog.contains("start [undo: site: stamp the file systems] info ran: rm -f \(stamp) (exited with status 0"))
        try Self.expectClean(lab)
        // Mounted again without the hooks: the stamp is gone.
        #expect(try lab.hanfs(["start", "--config", config, "--site-dir", lab.dir + "/nosite"]).status == 0)
        #expect(try !stamped())
        #expect(try lab.hanfs(["stop", "--config", config, "--site-dir", lab.dir + "/nosite"]).status == 0)
        try Self.expectClean(lab)
    }

    @Test func dryRunPrintsThePlanAndChangesNothing() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try Self.package(lab)
        let plan = try lab.hanfs(["start", "--dry-run", "--config", config])
        #expect(plan.status == 0, "\(plan.stderr)")
        // The lab's LVM does not activate (activation = 0): the VG is taken by its tag, and
        // there is no `vgchange -a y` to run.
        let expected = [
            "1. vgchange --addtag node1 vglab",
            "2. mount -t ext4 \(lab.devices[0]) /srv/nfs/fs0",
            "3. exportfs -o rw,no_subtree_check,fsid=101 192.0.2.0/24:/srv/nfs/fs0",
            "4. ip addr add 192.0.2.10/24 dev \(lab.interface)",
        ]
        let lines = plan.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "plan: 5 commands")
        for (i, e) in expected.enumerated() { #expect(lines[i + 1].hasPrefix(e + "    (timeout"), "\(lines[i + 1])") }
        #expect(lines[5].contains(" announce --interface \(lab.interface) --count 4 --interval 0.2 192.0.2.10"))
        try Self.expectClean(lab)
    }

    /// On a node the package never ran on (its VG not presented yet, its
    /// interface not made yet), the plan is made all the same, saying what
    /// it assumed, with the NFS-Ganesha configuration it would write.
    @Test func dryRunPlansForANodeThatDoesNotHoldThePackageYet() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try lab.writeScript("elsewhere.lua", """
            package { name = "elsewhere", nfs_server = "ganesha" }
            vg "vgnotyet"
            filesystem { device = "/dev/vgnotyet/lv1", directory = "/srv/nfs/e", type = "ext4" }
            export { directory = "/srv/nfs/e", clients = "192.0.2.0/24", options = "rw,sec=krb5p", fsid = 9 }
            address { address = "192.0.2.20/24", interface = "bond7" }
            """)
        let plan = try lab.hanfs(["start", "--dry-run", "--config", config])
        #expect(plan.status == 0, "\(plan.stderr)")
        let lines = plan.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == [
            "assuming, as this node is not yet as a run would find it:",
            "- interface bond7 (for 192.0.2.20) is not on this node: planned as if it were",
            "- volume group vgnotyet is visible here, unclaimed and inactive (this node does not see it now)",
        ])
        #expect(lines.contains { $0.hasPrefix("1. vgchange --addtag node1 vgnotyet    (") }, "\(plan.stdout)")
        #expect(lines.contains { $0.contains(". ip addr add 192.0.2.20/24 dev bond7    (") }, "\(plan.stdout)")
        #expect(lines.contains("/run/hanfs/elsewhere.ganesha.conf would read:"), "\(plan.stdout)")
        #expect(lines.contains("      CLIENT { Clients = 192.0.2.0/24; Access_Type = RW; Squash = Root_Squash; SecType = krb5p; }"))
        #expect(lines.contains("    NFS_KRB5 { Active_krb5 = true; }"))
        try Self.expectClean(lab)
        // A real start says what is missing before it changes anything.
        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 1)
        #expect(start.stderr.contains("interface bond7 (for 192.0.2.20) is not on this node"), "\(start.stderr)")
        #expect(!start.stderr.contains("ran: vgchange"), "\(start.stderr)")
        try Self.expectClean(lab)
    }
}

extension Lab {
    /// A script file in the lab's directory, which the node sees too.
    func writeScript(_ name: String, _ text: String) throws -> String {
        let path = "\(dir)/\(name)"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
