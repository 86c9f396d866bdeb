import Foundation
import TestSupport
import Primitives
import Testing

/// hanfs called the way Serviceguard calls it: the modular package's
/// external_script (`start`, `stop`, `validate` with SG_PACKAGE, SG_NODE,
/// SG_PACKAGE_NAME), and the legacy toolkit's `hanfs.sh` command line. As
/// under Serviceguard, the test does Serviceguard's own part first: the file
/// system mounted and the package address added.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct ServiceguardEntryPoints {
    /// A modular package file, as cmmakepkg and an administrator leave it.
    static func modular(_ lab: Lab, name: String = "labpkg", holding: String = "/srv/nfs/fs0/.flm", extra: String = "") throws -> String {
        let text = """
            package_name            \(name)
            package_type            failover
            node_name               node1
            node_name               node2
            run_script_timeout      600
            external_script         /usr/local/bin/hanfs
            vg                      vglab
            fs_name                 \(lab.devices[0])
            fs_directory            /srv/nfs/fs0
            fs_type                 ext4
            ip_subnet               192.0.2.0
            ip_address              192.0.2.10
            service_name            \(name).monitor
            service_cmd             "/usr/local/bin/hanfs serviceguard monitor --config /etc/cmcluster/\(name)/\(name).conf"
            tkit/nfs/nfs/XFS        "-o rw,no_subtree_check,fsid=101 192.0.2.0/24:/srv/nfs/fs0"
            tkit/nfs/nfs/LOCK_MIGRATION      YES
            tkit/nfs/nfs/NFS_FLM_HOLDING_DIR \(holding)
            sm_dir                  /var/lib/nfs/sm
            notify_retry_minutes    1
            \(extra)
            """
        let path = "\(lab.dir)/\(name).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What Serviceguard does before its external script runs: the file
    /// system mounted, the address added; and the node's status monitor.
    static func serviceguardsPart(_ lab: Lab) throws {
        try lab.inNode(["mkdir", "-p", "/srv/nfs/fs0"])
        try lab.inNode(["mount", lab.devices[0], "/srv/nfs/fs0"])
        try lab.inNode(["mkdir", "-p", "/srv/nfs/fs0/.flm"])
        try lab.sh(["ip", "-n", lab.nodeNS, "addr", "add", "192.0.2.10/24", "dev", lab.interface])
        try lab.prepareNodeStatusMonitor()
    }

    func sg(_ lab: Lab, _ arguments: [String], _ env: [String] = ["SG_PACKAGE=labpkg", "SG_NODE=node1"]) throws -> Output {
        try lab.inNode(["env"] + env + [hanfsBinary, "serviceguard"] + arguments, check: false)
    }

    @Test func externalScriptStartStopValidate() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try Self.modular(lab, extra: "tkit/nfs/nfs/MONITOR_INTERVAL 0.2\ntkit/nfs/nfs/MONITOR_DAEMONS_RETRY 1")
        try Self.serviceguardsPart(lab)

        // cmcheckconf: validate, with SG_PACKAGE_NAME only.
        let valid = try sg(lab, ["validate", "--config", config], ["SG_PACKAGE_NAME=labpkg"])
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stdout.contains("node node1 can run package labpkg"))
        // The node is the one Serviceguard names, whatever else the environment says.
        let named = try sg(lab, ["validate", "--config", config], ["SG_PACKAGE_NAME=labpkg", "SG_NODE=sgnode7"])
        #expect(named.stdout.contains("node sgnode7 can run package labpkg"), "\(named.stdout)")

        let start = try sg(lab, ["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.exportTable().contains("/srv/nfs/fs0\t192.0.2.0/24("))
        // Lock migration: statd restarted as the package address, the sync running.
        #expect(!lab.processesInNode(withCommandLine: "rpc.statd --no-notify -n 192.0.2.10 -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout").isEmpty)
        // Serviceguard's parts were left to it: nothing activated, mounted or added by hanfs.
        let records = PackageEvents.read("\(lab.logDir)/labpkg.log.jsonl")
        let lastStart = try #require(records.lastIndex { $0["event"] as? String == "action" && $0["phase"] as? String == "start" })
        let steps = records[lastStart...].filter { $0["event"] as? String == "step" }.compactMap { $0["step"] as? String }
        #expect(steps.contains("export /srv/nfs/fs0 to 192.0.2.0/24"), "\(steps)")
        #expect(!steps.contains { $0.hasPrefix("check and mount") || $0.hasPrefix("add address") || $0.hasPrefix("activate volume group") },
                "\(steps)")
        // The node is SG_NODE.
        #expect(start.stderr.contains("start labpkg on node1"))

        // The monitor as the package's service_cmd (Serviceguard passes it no environment).
        try lab.startGanesha(exports: ["/srv/nfs/fs0"])
        let cycles = lab.monitorCycles()
        let monitor = Thread.detachedResult { try lab.inNode([hanfsBinary, "serviceguard", "monitor", "--config", config], check: false) }
        #expect(lab.waitForMonitorCycles(1, since: cycles), "the monitor logged no cycle")
        for pid in lab.processesInNode().filter({ (commandLine(of: $0) ?? "").hasPrefix("\(hanfsBinary) flm ") }) {
            kill(pid, SIGKILL)
        }
        let ended = try monitor.value()
        #expect(ended.status == 1)
        #expect(ended.stderr.contains("hanfs: monitor: sync: the sync into /srv/nfs/fs0/.flm is not running"), "\(ended.stderr)")

        // As the modular package's external_script: a link named hanfs.sh, the action its only
        // argument, the package file found as $SGCONF/<package>/<package>.conf.
        let sgconf = "\(lab.dir)/cmcluster"
        try FileManager.default.createDirectory(atPath: sgconf + "/labpkg", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: config, toPath: sgconf + "/labpkg/labpkg.conf")
        try FileManager.default.createSymbolicLink(atPath: sgconf + "/labpkg/hanfs.sh", withDestinationPath: hanfsBinary)
        let stop = try lab.inNode(["env", "SG_PACKAGE=labpkg", "SG_NODE=node1", "SGCONF=\(sgconf)", sgconf + "/labpkg/hanfs.sh", "stop"], check: false)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("\(sgconf)/labpkg/labpkg.conf"), "\(stop.stderr)")
        #expect(try lab.exportTable() == "")
        #expect(try lab.mountPoints() == ["/srv/nfs/fs0"], "the file system is Serviceguard's to unmount")
        #expect(try lab.addresses().contains("192.0.2.10"), "the address is Serviceguard's to remove")
        // A second stop: nothing to do, success.
        #expect(try sg(lab, ["stop", "--config", config]).status == 0)
    }

    @Test func validateTellsAWrongFileFromANodeThatLacksSomething() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        // A wrong package file: 1, with file, line and attribute.
        let wrong = try Self.modular(lab, extra: "tkit/nfs/nfs/MONITOR_INTERVAL  often")
        let bad = try sg(lab, ["validate", "--config", wrong], ["SG_PACKAGE_NAME=labpkg"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("labpkg.conf:20: tkit/nfs/nfs/MONITOR_INTERVAL: "), "\(bad.stderr)")
        // Another package's file: 1.
        let other = try sg(lab, ["validate", "--config", try Self.modular(lab)], ["SG_PACKAGE_NAME=otherpkg"])
        #expect(other.status == 1)
        #expect(other.stderr.contains("this is package labpkg, Serviceguard runs otherpkg"), "\(other.stderr)")
        // A right file on a node that does not see the package's volume group: 2.
        let path = try Self.modular(lab, name: "lackpkg", extra: "vg vgnowhere")
        let lacks = try sg(lab, ["validate", "--config", path], ["SG_PACKAGE_NAME=lackpkg"])
        #expect(lacks.status == 2, "\(lacks.stderr)")
        #expect(lacks.stderr.contains("this node lacks what package lackpkg needs: volume group vgnowhere is not visible"), "\(lacks.stderr)")
    }

    /// A start that fails after exporting is rolled back and exits 2, so
    /// that Serviceguard tries the package on another node.
    @Test func aFailedStartRollsBackAndExitsTwo() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        // The holding directory is not on the storage: lock migration fails after the export.
        let config = try Self.modular(lab, holding: "/srv/nfs/fs0/.flm-missing")
        try Self.serviceguardsPart(lab)
        let start = try sg(lab, ["start", "--config", config])
        #expect(start.status == 2, "\(start.stderr)")
        #expect(start.stderr.contains(".flm-missing"), "\(start.stderr)")
        #expect(try lab.exportTable() == "", "the export was undone")
        #expect(try lab.mountPoints() == ["/srv/nfs/fs0"])
        #expect(try !lab.inNode(["ls", "/run/hanfs"]).stdout.contains("labpkg.started"))
    }

    /// The legacy toolkit: a control script's customer_defined_run_cmds
    /// calls `/etc/cmcluster/<pkg>/hanfs.sh start`, with hanfs.conf beside it.
    @Test func theLegacyHanfsShCommandLine() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try Self.serviceguardsPart(lab)
        let dir = "\(lab.dir)/labpkg"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            PACKAGE_NAME=labpkg
            VG[0]=vglab
            LV[0]=\(lab.devices[0])
            FS[0]=/srv/nfs/fs0
            FS_TYPE[0]=ext4
            IP[0]=192.0.2.10
            SUBNET[0]=192.0.2.0
            XFS[0]="-o rw,fsid=101 192.0.2.0/24:/srv/nfs/fs0"
            LOCK_MIGRATION=YES
            NFS_FLM_HOLDING_DIR=/srv/nfs/fs0/.flm
            SM_DIR=/var/lib/nfs/sm
            NFS_SERVICE_NAME[0]=labpkg.monitor
            """.write(toFile: "\(dir)/hanfs.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/hanfs.sh", withDestinationPath: hanfsBinary)
        // Serviceguard's service commands, as far as the test needs them: cmrunserv runs the
        // service command line with the shell, as Serviceguard does; both log how they were called.
        let bin = "\(lab.dir)/sgbin", calls = "\(lab.dir)/sg-calls.log"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"cmrunserv $*\" >> \(calls)\nsh -c \"$2\" </dev/null >/dev/null 2>&1 &\n"
            .write(toFile: bin + "/cmrunserv", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho \"cmhaltserv $*\" >> \(calls)\n".write(toFile: bin + "/cmhaltserv", atomically: true, encoding: .utf8)
        try lab.sh(["chmod", "755", bin + "/cmrunserv", bin + "/cmhaltserv"])
        let hanfsSh = { (arguments: [String]) in
            try lab.inNode(["env", "PATH=\(bin):/usr/sbin:/usr/bin:/sbin:/bin", "\(dir)/hanfs.sh"] + arguments, check: false)
        }

        let start = try hanfsSh(["start"])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.exportTable().contains("/srv/nfs/fs0"))
        // NFS_SERVICE_NAME: the monitor runs as that Serviceguard service.
        let monitor = "\(hanfsBinary) monitor --config \(dir)/hanfs.conf"
        #expect(try String(contentsOfFile: calls, encoding: .utf8) == "cmrunserv labpkg.monitor \(monitor)\n")
        #expect(!lab.processesInNode(withCommandLine: monitor).isEmpty)
        // lock_migration:<name>: statd restarted, and clients notified, as that name.
        let moved = try hanfsSh(["lock_migration:nfspkg"])
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(!lab.processesInNode(withCommandLine: "rpc.statd --no-notify -n nfspkg -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout").isEmpty)
        let stop = try hanfsSh(["stop"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try lab.exportTable() == "")
        #expect(try String(contentsOfFile: calls, encoding: .utf8).hasSuffix("cmhaltserv labpkg.monitor\n"))
        #expect(lab.processesInNode(withCommandLine: monitor).isEmpty)
        #expect(try hanfsSh(["restart"]).status == 1)
    }
}

/// hanfs as Pacemaker's resource agent ocf:hanfs:package, run by Debian's
/// ocf-tester and action by action, inside the lab's node.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct PacemakerAgent {
    /// The agent as `make install-ocf` leaves it: a link named package in resource.d/hanfs.
    static func agent(_ lab: Lab) throws -> String {
        let dir = "\(lab.dir)/ocf/resource.d/hanfs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/package", withDestinationPath: hanfsBinary)
        return dir + "/package"
    }

    func ocf(_ lab: Lab, _ agent: String, _ action: String, _ env: [String]) throws -> Output {
        try lab.inNode(["env"] + env + [agent, action], check: false)
    }

    @Test func ocfTesterPasses() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", monitor = { services = \"rpcbind\" }")
        try lab.prepareNodeStatusMonitor()
        let agent = try Self.agent(lab)
        let tester = try lab.inNode(["ocf-tester", "-n", "labpkg", "-o", "config=\(config)", agent], check: false, timeout: 300)
        #expect(tester.status == 0, "\(tester.stdout)\(tester.stderr)")
        #expect(tester.stdout.contains("passed all tests"), "\(tester.stdout)")
        try StartStop.expectClean(lab)
    }

    @Test func exitCodesAndReasons() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        let config = try StartStop.package(lab, extra: ", monitor = { services = \"rpcbind\" }")
        try lab.prepareNodeStatusMonitor()
        let agent = try Self.agent(lab)
        let env = ["OCF_ROOT=/usr/lib/ocf", "OCF_RESKEY_config=\(config)", "OCF_RESKEY_CRM_meta_interval=20000"]

        // A probe (interval 0) of a package that is nowhere: 7, without complaint.
        let probe = try ocf(lab, agent, "monitor", ["OCF_RESKEY_config=\(config)", "OCF_RESKEY_CRM_meta_interval=0"])
        #expect(probe.status == 7)
        #expect(!probe.stderr.contains("ocf-exit-reason"))
        // A probe where the package file is not there (on storage elsewhere): 7.
        #expect(try ocf(lab, agent, "monitor", ["OCF_RESKEY_config=/nowhere.lua", "OCF_RESKEY_CRM_meta_interval=0"]).status == 7)

        // The node another node's tag names is down (Pacemaker fenced it first): taken over.
        try lab.lvm(["vgchange", "--addtag", "node2", "vglab"])
        let start = try ocf(lab, agent, "start", env + ["OCF_RESKEY_CRM_meta_on_node=node1", "OCF_RESKEY_CRM_meta_timeout=20000"])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.tags("vglab") == ["node1"])
        // Its progress went to the package log, not to Pacemaker's.
        #expect(start.stderr.isEmpty, "\(start.stderr)")
        #expect(try String(contentsOfFile: "\(lab.logDir)/labpkg.log", encoding: .utf8).contains("taking volume group vglab over from node2"))
        #expect(try ocf(lab, agent, "monitor", env).status == 0)
        // Something of it fails: 1, and the reason on the last line.
        try lab.inNode(["exportfs", "-u", "192.0.2.0/24:/srv/nfs/fs0"])
        let failed = try ocf(lab, agent, "monitor", env)
        #expect(failed.status == 1)
        #expect(failed.stderr.hasSuffix("ocf-exit-reason:monitor: exports: 192.0.2.0/24:/srv/nfs/fs0 is not exported\n"), "\(failed.stderr)")
        #expect(try ocf(lab, agent, "stop", env).status == 0)
        // Stopped, but a file system left mounted by hand: partly up is a failure, not "not running".
        try lab.inNode(["mkdir", "-p", "/srv/nfs/fs0"])
        try lab.inNode(["mount", lab.devices[0], "/srv/nfs/fs0"])
        let partly = try ocf(lab, agent, "monitor", ["OCF_RESKEY_config=\(config)", "OCF_RESKEY_CRM_meta_interval=0"])
        #expect(partly.status == 1)
        #expect(partly.stderr.contains("ocf-exit-reason:package labpkg is not started here, yet /srv/nfs/fs0 mounted"), "\(partly.stderr)")
        try lab.inNode(["umount", "/srv/nfs/fs0"])

        // A wrong package file: 6; no config parameter: 6; an action it does not have: 3.
        let wrong = "\(lab.dir)/wrong.lua"
        try "package { name = \"labpkg\", fsck_concurency = 2 }\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        let bad = try ocf(lab, agent, "validate-all", ["OCF_RESKEY_config=\(wrong)"])
        #expect(bad.status == 6)
        #expect(bad.stderr.contains("ocf-exit-reason:\(wrong):1: package.fsck_concurency"), "\(bad.stderr)")
        #expect(try ocf(lab, agent, "start", ["OCF_RESKEY_config=\(wrong)"]).status == 6)
        #expect(try ocf(lab, agent, "validate-all", []).status == 6)
        #expect(try ocf(lab, agent, "promote", env).status == 3)
        // No action, or a node name that is none: 2. A package file not on this node: 5.
        #expect(try lab.inNode(["env"] + env + [agent], check: false).status == 2)
        #expect(try ocf(lab, agent, "start", env + ["OCF_RESKEY_CRM_meta_on_node=node 1"]).status == 2)
        let absent = try ocf(lab, agent, "start", ["OCF_RESKEY_config=/nowhere.lua"])
        #expect(absent.status == 5)
        #expect(absent.stderr.hasSuffix("ocf-exit-reason:config: /nowhere.lua is not on this node\n"))
        // A node that does not see the package's volume group: 5.
        let elsewhere = try StartStop.package(lab, name: "elsepkg", extra: "")
        try (String(contentsOfFile: elsewhere, encoding: .utf8) + "vg \"vgnowhere\"\n").write(toFile: elsewhere, atomically: true, encoding: .utf8)
        let lacks = try ocf(lab, agent, "validate-all", ["OCF_RESKEY_config=\(elsewhere)"])
        #expect(lacks.status == 5, "\(lacks.stderr)")
        #expect(lacks.stderr.contains("ocf-exit-reason:this node lacks what package elsepkg needs: volume group vgnowhere is not visible"))

        // A start that fails (its address is the client's) is undone, and says why.
        let taken = try StartStop.package(lab, name: "failpkg", extra: "", address: "192.0.2.100/24")
        let failing = try ocf(lab, agent, "start", ["OCF_RESKEY_config=\(taken)"])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("ocf-exit-reason:") && failing.stderr.contains("192.0.2.100"), "\(failing.stderr)")
        // The reason in words: its first line, no positions in hanfs's scripts, no traceback.
        let reason = try #require(failing.stderr.split(separator: "\n").last)
        #expect(reason.hasPrefix("ocf-exit-reason:ip_add: 192.0.2.100 is in use by another host"), "\(reason)")
        #expect(!failing.stderr.contains("stack traceback") && !failing.stderr.contains(".lua:"), "\(failing.stderr)")
        try StartStop.expectClean(lab)
    }
}

/// `hanfs import --pacemaker crm|pcs`: its commands, run as printed by the
/// real crmsh and pcs against a CIB of their own (a file, CIB_file and
/// pcs -f: no cluster needed), with the agent ocf:hanfs:package where
/// Pacemaker looks for it (an overlay in a mount namespace of the test's own).
@Suite(.enabled(if: isRoot, "needs root: a mount namespace"))
struct ImportedUnderPacemaker {
    @Test(arguments: ["crm", "pcs"])
    func thePrintedConfigurationIsTakenByThePacemakerTools(_ tool: String) throws {
        let dir = try Scratch()
        let agents = dir.path + "/resource.d"
        #expect(try output(["cp", "-a", "/usr/lib/ocf/resource.d", agents]).status == 0)
        try FileManager.default.createDirectory(atPath: agents + "/hanfs", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: agents + "/hanfs/package", withDestinationPath: hanfsBinary)
        let config = dir.path + "/nfspkg.lua"
        let imported = try hanfs(["import", checkoutDirectory + "/examples/nfspkg.conf", "--output", config, "--pacemaker", tool])
        #expect(imported.status == 0, "\(imported.stderr)")
        let cib = dir.path + "/cib.xml"
        try output(["cibadmin", "--empty"]).stdout.write(toFile: cib, atomically: true, encoding: .utf8)
        // A site configures fencing first (README.md); this CIB has no nodes to fence.
        var commands = [["crm", "configure", "property", "stonith-enabled=false"]]
        commands += imported.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").map(String.init) }
        for argv in commands {
            let file = argv[0] == "pcs" ? ["pcs", "-f", cib] + argv.dropFirst() : ["env", "CIB_file=\(cib)"] + argv
            let ran = try output(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                                  "mount --bind \"$0\" /usr/lib/ocf/resource.d && exec \"$@\"", agents] + file, timeout: 120)
            #expect(ran.status == 0, "\(argv.joined(separator: " ")): \(ran.stdout)\(ran.stderr)")
        }
        let xml = try String(contentsOfFile: cib, encoding: .utf8)
        #expect(xml.contains("provider=\"hanfs\"") && xml.contains("type=\"package\"") && xml.contains("value=\"\(config)\""), "\(xml)")
        #expect(xml.contains("interval=\"30s\""))
        #expect(xml.contains("node=\"node1\"") && xml.contains("score=\"100\"") && xml.contains("node=\"node2\"") && xml.contains("score=\"90\""))
    }
}
