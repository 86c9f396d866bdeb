import Foundation
import TestSupport
import Testing

/// The monitor's RPC check (issue #5, started): NULL calls made by hanfs
/// itself, against the real rpcbind and rpc.statd in the lab's node.
@Suite(.serialized, .enabled(if: isRoot, "needs root: namespaces, daemons"))
struct RPCCheck {
    @Test func answersAndSilences() throws {
        let lab = try Lab(fileSystems: ["ext4"])
        try lab.inNode(["mkdir", "-p", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        try lab.inNode(["chown", "statd", "/var/lib/nfs", "/var/lib/nfs/sm", "/var/lib/nfs/sm.bak"])
        try lab.inNode(["rpcbind", "-w"])
        try lab.inNode(["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
        let script = try lab.writeScript("ping.lua", """
            for _, c in ipairs{ {100000, 2}, {100024, 1}, {100003, 3} } do
              for _, t in ipairs{ "udp", "tcp" } do
                print(c[1], t, rpc_ping{ program = c[1], version = c[2], transport = t, timeout = 1 })
              end
            end
            """)
        let out = try lab.hanfs(["run", script])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            100000\tudp\ttrue
            100000\ttcp\ttrue
            100024\tudp\ttrue
            100024\ttcp\ttrue
            100003\tudp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (udp)
            100003\ttcp\tfalse\tnfs (100003) version 3 is not registered with rpcbind (tcp)

            """)

        // rpcbind stopped (it still accepts, and never answers): the check ends at its timeout.
        let rpcbind = try #require(lab.processesInNode().first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "rpcbind\n"
        })
        kill(rpcbind, SIGSTOP)
        defer { kill(rpcbind, SIGCONT) }
        let timed = try lab.writeScript("timed.lua", """
            local t = os.clock()
            for _, tr in ipairs{ "udp", "tcp" } do
              local ok, why = rpc_ping{ program = 100024, version = 1, transport = tr, timeout = 0.5 }
              print(tr, ok, why)
            end
            """)
        let started = Date()
        let silent = try lab.hanfs(["run", timed])
        let took = Date().timeIntervalSince(started)
        #expect(silent.stdout.contains("udp\tfalse\trpcbind: no answer within the timeout"), "\(silent.stdout)")
        #expect(silent.stdout.contains("tcp\tfalse\trpcbind: no answer within the timeout"), "\(silent.stdout)")
        #expect(took < 1.0 + 0.5, "two checks of 0.5 s took \(took) s")
    }
}
