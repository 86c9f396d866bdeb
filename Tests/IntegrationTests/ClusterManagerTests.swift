import Foundation
import TestSupport
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

        let start = try sg(lab, ["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.exportTable().contains("/srv/nfs/fs0\t192.0.2.0/24("))
        // Lock migration: statd restarted as the package address, the sync running.
        #expect(try !processes(withCommandLine: "rpc.statd --no-notify -n 192.0.2.10 -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout").isEmpty)
        // Serviceguard's parts were left to it: nothing activated, mounted or added by hanfs.
        #expect(!start.stderr.contains("step: check and mount"))
        #expect(!start.stderr.contains("step: add address"))
        #expect(!start.stderr.contains("step: activate volume group"))
        // The node is SG_NODE.
        #expect(start.stderr.contains("start labpkg on node1"))

        // The monitor as the package's service_cmd (Serviceguard passes it no environment).
        try lab.startGanesha(exports: ["/srv/nfs/fs0"])
        let monitor = Thread.detachedResult { try lab.inNode([hanfsBinary, "serviceguard", "monitor", "--config", config], check: false) }
        usleep(700_000)
        for pid in lab.processesInNode().filter({ (commandLine(of: $0) ?? "").hasPrefix("\(hanfsBinary) flm ") }) {
            kill(pid, SIGKILL)
        }
        let ended = try monitor.value()
        #expect(ended.status == 1)
        #expect(ended.stderr.contains("hanfs: monitor: sync: the sync into /srv/nfs/fs0/.flm is not running"), "\(ended.stderr)")

        let stop = try sg(lab, ["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
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
            """.write(toFile: "\(dir)/hanfs.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/hanfs.sh", withDestinationPath: hanfsBinary)
        let hanfsSh = { (arguments: [String]) in try lab.inNode(["\(dir)/hanfs.sh"] + arguments, check: false) }

        let start = try hanfsSh(["start"])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try lab.exportTable().contains("/srv/nfs/fs0"))
        // lock_migration:<name>: statd restarted, and clients notified, as that name.
        let moved = try hanfsSh(["lock_migration:nfspkg"])
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(try !processes(withCommandLine: "rpc.statd --no-notify -n nfspkg -P /var/lib/nfs -H /run/hanfs/hanfs-statd-callout").isEmpty)
        let stop = try hanfsSh(["stop"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try lab.exportTable() == "")
        #expect(try hanfsSh(["restart"]).status == 1)
    }
}
