import Foundation
import Primitives
import TestSupport

/// The holding-directory sync: how long an entry rpc.statd writes takes to
/// reach the holding directory, and what the sync costs while nothing happens.
func syncBenchmarks(hanfs: String) throws {
    let scratch = try Scratch()
    let sm = scratch.path + "/sm"
    let holding = scratch.path + "/holding"
    for d in [sm, holding] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
    _ = try ProcessRunner().run(
        Command([hanfs, "flm", "--sm-dir", sm, "--holding", holding, "--interval", "5"], timeout: 5, background: true))
    var pid: Int32?
    for _ in 0..<100 where pid == nil {
        usleep(10_000)
        pid = ProcessTable.matching { $0.count > 1 && $0[1] == "flm" && $0.contains(holding) }.first
    }
    guard let pid else { throw LabError("hanfs flm did not start") }
    defer { kill(pid, SIGTERM) }
    usleep(100_000)

    let count = 1000
    var latencies: [Double] = []
    let entry = Array("0100007f 000186b5 00000003 00000010 00000000000000000000000000000000 client nfspkg\n".utf8)
    for i in 0..<count {
        let name = "client\(i)"
        // As rpc.statd writes one: aside, then renamed into place.
        let fd = open("\(sm)/.\(name).new", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = write(fd, entry, entry.count)
        close(fd)
        let t = now()
        rename("\(sm)/.\(name).new", "\(sm)/\(name)")
        var st = stat()
        while stat("\(holding)/\(name)", &st) != 0 {
            if now() - t > 10 { throw LabError("\(name) never reached the holding directory") }
            usleep(50)
        }
        latencies.append(now() - t)
    }
    latencies.sort()
    func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }

    // CPU while idle: 10 s with nothing happening (two periodic comparisons of 1,000 entries).
    func cpuSeconds() -> Double {
        let fields = (ProcFile.read("/proc/\(pid)/stat") ?? "").split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
    let before = cpuSeconds()
    let idle = 10.0
    usleep(UInt32(idle * 1_000_000))
    let idleCPU = (cpuSeconds() - before) / idle * 100

    print("")
    print("## The holding-directory sync (hanfs flm)")
    print("")
    print("| what | figure |")
    print("|---|---|")
    print("| an SM entry written (rename into sm/) until its copy is in the holding directory, \(count) entries | p50 \(String(format: "%.2f", percentile(0.5))) ms, p99 \(String(format: "%.2f", percentile(0.99))) ms, max \(String(format: "%.2f", latencies.last! * 1000)) ms |")
    print("| the same with the toolkit's periodic copy every 5 s | 2,500 ms on average, up to 5,000 ms |")
    print("| CPU while idle, \(count) entries, a full comparison every 5 s | \(String(format: "%.2f", idleCPU)) % of a core |")
}
