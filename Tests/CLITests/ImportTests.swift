import Foundation
import TestSupport
import Testing

/// `hanfs import`: a Serviceguard package as a site has it, made into a
/// native package file that hanfs takes as it is, with what could not be
/// carried over said.
@Suite struct Importing {
    /// The toolkit's legacy layout: a package control script (bash) and the
    /// hanfs.conf beside it.
    static let controlScript = """
        #!/bin/bash
        # HIGH AVAILABILITY PACKAGE CONTROL SCRIPT (template)
        . ${SGCONFFILE:=/etc/cmcluster.conf}
        PATH=$SGSBIN:/usr/bin:/usr/sbin:/etc:/bin
        VGCHANGE="vgchange -a y"
        VG[0]=vg01
        LV[0]=/dev/vg01/lv1; FS[0]=/srv/nfs/a; FS_TYPE[0]="ext4"; FS_MOUNT_OPT[0]="-o noatime"
        FS_UMOUNT_COUNT=1
        IP[0]=192.0.2.10
        SUBNET[0]=192.0.2.0
        SERVICE_NAME[0]=nfspkg.monitor
        HA_APP_SCRIPT=/etc/cmcluster/nfspkg/toolkit.sh

        function customer_defined_run_cmds
        {
        # ADD customer defined run commands.
        : # do nothing instruction, because a function must contain some command.
            $HA_APP_SCRIPT lock_migration:nfspkg
            logger -t nfspkg "package up"
            if [ -f /etc/backup.on ]; then /usr/local/bin/backup-agent start; fi
            test_return 51
        }

        function customer_defined_halt_cmds
        {
            logger -t nfspkg 'package going down'
            test_return 52
        }
        """

    static let toolkitConf = """
        XFS[0]="-o rw,sync,no_subtree_check,fsid=101 192.0.2.0/24:/srv/nfs/a"
        LOCK_MIGRATION=YES
        NFS_FLM_HOLDING_DIR=/srv/nfs/a/.sm
        NFS_FLM_SCRIPT="${0%/*}/nfs.flm"
        NFS_SERVICE_NAME[0]=nfspkg.monitor
        NFS_SERVICE_CMD[0]="${0%/*}/nfs.mon"
        NFS_SERVICE_RESTART[0]="-r 0"
        """

    @Test func aControlScriptAndItsHanfsConfBecomeAPackageFileAndSiteHooks() throws {
        let dir = try Scratch()
        let script = try dir.write("cmcluster/nfspkg/pkg.cntl", Self.controlScript)
        try dir.write("cmcluster/nfspkg/hanfs.conf", Self.toolkitConf)
        // Not a package file: said once, with what to do.
        let refused = try hanfs(["validate", "--config", script])
        #expect(refused.status == 6)
        #expect(refused.stderr.contains("\(script):3: . ${SGCONFFILE:=/etc/cmcluster.conf}: shell (a function, a file sourced): this is a "
            + "Serviceguard legacy package control script, not a package file; `hanfs import"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)

        let output = dir.path + "/nfspkg.lua", hooks = dir.path + "/nfspkg.hooks.lua"
        let run = try hanfs(["import", script, "--output", output, "--hooks", hooks])
        #expect(run.status == 0, "\(run.stderr)")
        let written = try String(contentsOfFile: output, encoding: .utf8)
        for line in [
            "vg \"vg01\"", "filesystem { device = \"/dev/vg01/lv1\", directory = \"/srv/nfs/a\", type = \"ext4\", options = \"noatime\" }",
            "export { directory = \"/srv/nfs/a\", clients = \"192.0.2.0/24\", options = \"rw,sync,no_subtree_check\", fsid = 101 }",
            "address { address = \"192.0.2.10\", subnet = \"192.0.2.0\" }", "  lock_migration = { enabled = true, holding_dir = \"/srv/nfs/a/.sm\" },",
            "  hooks_file = \"\(hooks)\",",
        ] {
            #expect(written.contains(line), "\(line) in\n\(written)")
        }
        let hooksText = try String(contentsOfFile: hooks, encoding: .utf8)
        #expect(hooksText.contains("    run{ \"logger\", \"-t\", \"nfspkg\", \"package up\" }"))
        #expect(hooksText.contains("    run{ \"logger\", \"-t\", \"nfspkg\", \"package going down\" }"))
        #expect(hooksText.contains("-- not carried over (shell), \(script):20: if [ -f /etc/backup.on ]"))
        // What was left out, on stderr and at the top of the file.
        for said in ["\(script):4: PATH: not hanfs's", "\(script):11: SERVICE_NAME[0]: not hanfs's",
                     "\(script):18: $HA_APP_SCRIPT lock_migration:nfspkg: the toolkit's own call",
                     "\(script): 1 line(s) of shell outside the functions (from line 3: . ${SGCONFFILE:=/etc/cmcluster.conf})",
                     "NFS_SERVICE_NAME nfspkg.monitor (with NFS_SERVICE_RESTART -r 0)"] {
            #expect(run.stderr.contains("hanfs import: not carried over: \(said)"), "\(said) in\n\(run.stderr)")
            #expect(written.contains("--   \(said)"), "\(said) in the file")
        }
        // hanfs takes it, hooks and all.
        let valid = try hanfs(["validate", "--config", output])
        #expect(valid.status == 0 && valid.stdout.contains("package nfspkg is valid: 1 volume group, 1 file system, 1 export, 1 address; lock migration on; hooks \(hooks)"),
                "\(valid.stdout)\(valid.stderr)")
        // Never over a file that is there.
        let again = try hanfs(["import", script, "--output", output])
        #expect(again.status == 1 && again.stderr.contains("\(output): there already: not overwritten"))
    }

    @Test func aModularPackageFileWithItsPacemakerConfiguration() throws {
        let dir = try Scratch()
        let modular = try dir.write("nfspkg.conf", try String(contentsOfFile: checkoutDirectory + "/examples/nfspkg.conf", encoding: .utf8)
            + "run_script_timeout 600\nhalt_script_timeout no_timeout\nservice_name nfs_mon\nfailover_policy configured_node\n")
        let output = dir.path + "/nfspkg.lua"
        for tool in ["crm", "pcs"] {
            try? FileManager.default.removeItem(atPath: output)
            let run = try hanfs(["import", modular, "--output", output, "--pacemaker", tool])
            #expect(run.status == 0, "\(run.stderr)")
            let commands = run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
            let ops = "op start timeout=600s op stop timeout=300s op monitor interval=30s timeout=30s"
            #expect(commands == (tool == "crm" ? [
                "crm configure primitive nfspkg ocf:hanfs:package params config=\(output) \(ops)",
                "crm configure location nfspkg-on-node1 nfspkg 100: node1", "crm configure location nfspkg-on-node2 nfspkg 90: node2",
            ] : [
                "pcs resource create nfspkg ocf:hanfs:package config=\(output) \(ops)",
                "pcs constraint location nfspkg prefers node1=100 node2=90",
            ]), "\(run.stdout)")
            #expect(run.stderr.contains("service_name nfs_mon: Serviceguard's own"), "\(run.stderr)")
            let text = try String(contentsOfFile: output, encoding: .utf8)
            // TKIT_DIR with MAINTENANCE_FLAG: the toolkit's nfs.debug is the maintenance file.
            #expect(text.contains("maintenance_file = \"/etc/cmcluster/nfspkg/nfs.debug\""), "\(text)")
            #expect(text.contains("interval = 30"))
            #expect(try hanfs(["validate", "--config", output]).status == 0)
        }
        #expect(try hanfs(["import", modular, "--pacemaker", "crm"]).status == 64)
    }
}
