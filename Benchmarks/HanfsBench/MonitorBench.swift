import Foundation
import TestSupport

/// The monitor: CPU per check cycle (everything it checks, nothing forked),
/// and how long from a daemon's death to the monitor's exit.
func monitorBenchmarks() throws {
    guard isRoot else {
        print("\n## The monitor: skipped (needs root)")
        return
    }
    let lab = try Lab(fileSystems: ["ext4"])
    defer { lab.teardown() }
    let config = "\(lab.dir)/mon.lua"
    try """
        package { name = "mon", monitor = { interval = 0.1, retries = 0, services = "rpcbind,nfs,mountd,nlockmgr,status" } }
        filesystem { device = "\(lab.devices[0])", directory = "/srv/nfs/fs0", type = "ext4" }
        export { directory = "/srv/nfs/fs0", clients = "*", options = "rw", fsid = 1 }
        address { address = "192.0.2.10/24", interface = "\(lab.interface)" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
    guard try lab.hanfs(["start", "--config", config]).status == 0 else { throw LabError("start failed") }
    try lab.prepareNodeStatusMonitor(statd: true)
    try lab.startGanesha(exports: ["/srv/nfs/fs0"])

    // Detection: a daemon killed; the monitor (interval 0.1 s, no retries) exits.
    func detection(_ daemon: String, restart: [String]) throws -> [Double] {
        var latencies: [Double] = []
        for _ in 0..<5 {
            let monitor = Thread.detachedResult { try lab.hanfs(["monitor", "--config", config], timeout: 60) }
            usleep(500_000)
            guard let pid = lab.processInNode(named: daemon) else { throw LabError("no \(daemon)") }
            let t = now()
            kill(pid, SIGKILL)
            let result = try monitor.value()
            guard result.status == 1 else { throw LabError("the monitor did not fail: \(result.stderr)") }
            latencies.append(now() - t)
            if restart.isEmpty { try lab.startGanesha(exports: ["/srv/nfs/fs0"]) } else { try lab.inNode(restart) }
        }
        return latencies
    }
    let statd = try detection("rpc.statd", restart: ["rpc.statd", "--no-notify", "-P", "/var/lib/nfs"])
    let ganesha = try detection("ganesha.nfsd", restart: [])
    // Then the CPU figures: a thousand cycles of checks leave the lab slower to detect with (seen: 0.1 s more).
    // CPU (user + system, os.clock) per cycle of all the package's checks; and the
    // same cycle as the monitor runs it since `hanfs status --json`: each check
    // timed (now()), the cycle kept in a runtime note. Alternating, in one process.
    let cycles = 500
    let out = try lab.inNode(
        [hanfsBinary, "repl", "--config", config], check: false, timeout: 300,
        input: """
            local list = require('checks').all() \
            local function plain() for _, c in ipairs(list) do assert(c.run()) end end \
            local function kept() local lines = { tostring(now()) } for _, c in ipairs(list) do local b = now() local ok, why = c.run() assert(ok) \
              lines[#lines + 1] = table.concat({ c.name, "ok", ("%.6f"):format(now() - b), "" }, "\\t") end \
              runtime_write("monitor-cycle", table.concat(lines, "\\n")) end \
            local a, b = 0, 0 for round = 1, 10 do \
              local t = os.clock() for i = 1, \(cycles / 10) do plain() end a = a + os.clock() - t \
              t = os.clock() for i = 1, \(cycles / 10) do kept() end b = b + os.clock() - t end \
            return #list, a / \(cycles) * 1000, b / \(cycles) * 1000

            """)
    let fields = out.stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" })
    guard fields.count >= 3, let checks = Int(fields[0]), let perCycle = Double(fields[1]), let perKeptCycle = Double(fields[2]) else {
        throw LabError("monitor cycle: \(out.stdout) \(out.stderr)")
    }

    print("")
    print("## The monitor (hanfs monitor)")
    print("")
    print("| what | figure |")
    print("|---|---|")
    print("| CPU per check cycle: \(checks) checks (rpcbind, NFS-Ganesha's nfs, mountd and nlockmgr, and statd by NULL call over the network namespace's loopback; the mount, the export table, the address), \(cycles) cycles, no process forked | \(String(format: "%.2f", perCycle)) ms |")
    print("| the same cycle as the monitor runs it: each check timed, the cycle kept for hanfs status (a runtime note), alternating with the above | \(String(format: "%.2f", perKeptCycle)) ms (\(String(format: "%.2f", perKeptCycle / perCycle))x) |")
    for (what, latencies) in [("rpc.statd", statd), ("NFS-Ganesha", ganesha)] {
        print("| a killed \(what) until the monitor exits (interval 0.1 s, no retries), median (max) of \(latencies.count) | \(String(format: "%.0f", median(latencies) * 1000)) (\(String(format: "%.0f", latencies.max()! * 1000))) ms |")
    }
}
