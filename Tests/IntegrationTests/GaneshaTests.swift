import Foundation
import TestSupport
import Testing

/// NFS-Ganesha as the package's NFS server (`nfs_server = "ganesha"`): start
/// generates its configuration and starts it, a client in its own namespace
/// reads and writes through the package address over NFSv3 and NFSv4, and
/// stop ends it so that the file system can go.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct GaneshaBackend {
    static func package(_ lab: Lab, extra: String = "") throws -> String {
        let config = try StartStop.package(
            lab, extra: ", nfs_server = \"ganesha\", ganesha = { grace_period = 5, lease_lifetime = 5 }" + extra,
            exports: ["/srv/nfs/fs0"])
        // Squashing root would keep the test's root client out of its own files; the
        // client (libnfs) speaks from a port above 1023; the other options are
        // NFS-Ganesha's own settings, and what it does anyway (ExportSpec.underGanesha).
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "options = \"rw,no_subtree_check\"",
                                  with: "options = \"rw,no_root_squash,sec=sys,insecure,no_acl,sync,no_subtree_check\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// A file on the package's file system before the package starts.
    static func seed(_ lab: Lab, _ name: String, _ text: String) throws {
        try lab.inNode(["mkdir", "-p", "/mnt/seed"])
        try lab.inNode(["mount", lab.devices[0], "/mnt/seed"])
        try lab.inNode(["sh", "-c", "printf '%s' \"$1\" > /mnt/seed/\(name)", "sh", text])
        try lab.inNode(["umount", "/mnt/seed"])
    }

    @Test func startServesClientsStopLetsGo() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try Self.seed(lab, "hello.txt", "hello from the package\n")
        let config = try Self.package(lab)
        try lab.prepareNodeStatusMonitor(statd: true)

        let start = try lab.hanfs(["start", "--config", config])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stderr.contains("step: start NFS-Ganesha with 1 export(s)"))
        // Its configuration: what must be the same on every node is fixed.
        let conf = try lab.inNode(["cat", "/run/hanfs/labpkg.ganesha.conf"]).stdout
        for line in ["Export_Id = 101;", "Filesystem_id = 101.101;", "Server_Scope = \"labpkg\";",
                     "RecoveryRoot = \"/srv/nfs/fs0/.ganesha\";", "Grace_Period = 5;",
                     "CLIENT { Clients = 192.0.2.0/24; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; PrivilegedPort = false; }",
                     "Disable_ACL = true;", "Active_krb5 = false;"] {
            #expect(conf.contains(line), "\(line) in \(conf)")
        }
        #expect(try lab.hanfs(["status", "--config", config]).stdout.contains("up   NFS-Ganesha serving 1 export(s)"))
        // Inspection covers NFS-Ganesha's exports, as the REPL's exports() shows them.
        let inspect = try lab.writeScript("exports.lua", """
            for _, e in ipairs(exports()) do
              if e.server == "ganesha" then print(e.directory, e.clients, e.options, e.export_id) end
            end
            """)
        #expect(try lab.hanfs(["run", "--config", config, inspect]).stdout
            == "/srv/nfs/fs0\t192.0.2.0/24\trw,no_root_squash,sec=sys,insecure\t101\n")

        // A client reads through the package address, NFSv3 and NFSv4, and writes.
        let url = "nfs://192.0.2.10/srv/nfs/fs0"
        #expect(try lab.inClient(["nfs-cat", "\(url)/hello.txt"]).stdout == "hello from the package\n")
        // NFSv4 opens wait out the grace period (5 s here), as a client retrying NFS4ERR_GRACE does.
        var v4 = try lab.inClient(["nfs-cat", "\(url)/hello.txt?version=4"], check: false)
        for _ in 0..<40 where v4.stderr.contains("NFS4ERR_GRACE") {
            usleep(250_000)
            v4 = try lab.inClient(["nfs-cat", "\(url)/hello.txt?version=4"], check: false)
        }
        #expect(v4.stdout == "hello from the package\n", "\(v4.stderr)")
        let local = "\(lab.dir)/from-client.txt"
        try "written by the client\n".write(toFile: local, atomically: true, encoding: .utf8)
        try lab.inClient(["nfs-cp", local, "\(url)/from-client.txt"])
        #expect(try lab.inNode(["cat", "/srv/nfs/fs0/from-client.txt"]).stdout == "written by the client\n")

        // One export at a time on the running server (no system bus here: a restart).
        let script = try lab.writeScript("unexport.lua", "print(unexport(pkg.exports[1]))")
        #expect(try lab.hanfs(["run", "--config", config, script]).stdout == "done\n")
        #expect(try lab.inClient(["nfs-cat", "\(url)/hello.txt"], check: false).status != 0)
        let again = try lab.writeScript("export.lua", "print(export(pkg.exports[1])) print(export(pkg.exports[1]))")
        #expect(try lab.hanfs(["run", "--config", config, again]).stdout == "done\nalready\n")
        #expect(try lab.inClient(["nfs-cat", "\(url)/hello.txt"]).stdout == "hello from the package\n")

        let stop = try lab.hanfs(["stop", "--config", config])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("stopped NFS-Ganesha of labpkg"))
        #expect(lab.processInNode(named: "ganesha.nfsd") == nil)
        try StartStop.expectClean(lab)
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
    }

    /// Where a system bus is, an export comes and goes through Ganesha's
    /// export manager: the server goes on, clients of other exports undisturbed.
    @Test func exportsComeAndGoThroughDBus() throws {
        let lab = try Lab(fileSystems: ["ext4", "ext4"])
        try Self.seed(lab, "hello.txt", "one\n")
        let config = try StartStop.package(
            lab, extra: ", nfs_server = \"ganesha\", ganesha = { grace_period = 5, lease_lifetime = 5 }")
        try lab.prepareNodeStatusMonitor(statd: true)
        try lab.startSystemBus()
        #expect(try lab.hanfs(["start", "--config", config]).status == 0)
        let server = lab.processInNode(named: "ganesha.nfsd")
        #expect(server != nil)
        let read = { try lab.inClient(["nfs-cat", "nfs://192.0.2.10/srv/nfs/fs0/hello.txt"], check: false) }
        #expect(try read().stdout == "one\n")
        // Its client manager knows the client that read.
        let clients = try lab.hanfs(["run", "--config", config, try lab.writeScript("clients.lua", """
            for _, c in ipairs(clients()) do print(c.server, c.address) end
            """)])
        #expect(clients.stdout.contains("ganesha\t192.0.2.100\n"), "\(clients.stdout)\(clients.stderr)")

        let out = try lab.hanfs(["run", "--config", config,
                                 try lab.writeScript("dbus.lua", "print(unexport(pkg.exports[1]))")])
        #expect(out.stdout == "done\n", "\(out.stderr)")
        #expect(out.stderr.contains("org.ganesha.nfsd.exportmgr.RemoveExport uint16:101"), "\(out.stderr)")
        #expect(try read().status != 0)
        let back = try lab.hanfs(["run", "--config", config,
                                  try lab.writeScript("dbus2.lua", "print(export(pkg.exports[1]))")])
        #expect(back.stderr.contains("org.ganesha.nfsd.exportmgr.AddExport string:/run/hanfs/labpkg.export-101.conf 'string:EXPORT(Export_Id=101)'"), "\(back.stderr)")
        #expect(try read().stdout == "one\n")
        // The same server all along; its configuration says what it serves, for the next start.
        #expect(lab.processInNode(named: "ganesha.nfsd") == server)
        #expect(try lab.inNode(["grep", "-c", "Export_Id = ", "/run/hanfs/labpkg.ganesha.conf"]).stdout == "2\n")
        #expect(try lab.hanfs(["stop", "--config", config]).status == 0)
        try StartStop.expectClean(lab)
    }

    @Test func aWrongGaneshaSettingIsAConfigurationError() throws {
        let scratch = try Scratch()
        let file = try scratch.write("g.lua", """
            package { name = "g", nfs_server = "ganesha", ganesha = { grace_period = 10, lease_lifetime = 60, recovery_dir = "/var/tmp/rec" } }
            filesystem { device = "/dev/vg/lv", directory = "/srv/a", type = "ext4" }
            export { directory = "/srv/a", clients = "*", options = "rw", fsid = 70000 }
            """)
        let out = try output([hanfsBinary, "validate", "--config", file])
        #expect(out.status == 6)
        #expect(out.stderr.contains("g.lua:1: package.ganesha.grace_period: the grace period (10.0 s) is shorter than the lease (60.0 s)"), "\(out.stderr)")
        #expect(out.stderr.contains("package.ganesha.recovery_dir: /var/tmp/rec is on none of the package's file systems"), "\(out.stderr)")
        #expect(out.stderr.contains("g.lua:3: export: fsid 70000: NFS-Ganesha's Export_Id is 1 to 65535"), "\(out.stderr)")
    }
}
