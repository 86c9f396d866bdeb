// hanfs benchmarks. Build and run in release mode: `make bench`.
//
// Each comparison runs side by side in one process, alternating, so that a
// noisy machine affects both sides alike; the figures that matter are ratios
// and differences. Paste the output into BENCHMARKS.md.
//
//   hanfs-bench [host] [validate] [package] [sync] [monitor] [lab] [kernel-lab]   only these sections
import Foundation
import LuaRuntime
import Primitives

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores"
}

let here = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
    .deletingLastPathComponent()
let hanfs = here.appendingPathComponent("hanfs").path

let sections = Set(CommandLine.arguments.dropFirst())
func wanted(_ section: String) -> Bool { sections.isEmpty || sections.contains(section) }

print("# hanfs benchmarks")
print("machine: \(machine())")
print("")

if wanted("host") {
// MARK: 1. The cost of calling a no-op host function from Lua

let lua = try LuaState()
lua.register("noop") { _ in 0 }
lua.register("noop_arg") { call in
    _ = try call.string(1)
    return 0
}
let iterations = 5_000_000
let loops: [(String, String)] = [
    ("empty loop", "for i = 1, \(iterations) do end"),
    ("Lua function", "local f = function() end for i = 1, \(iterations) do f() end"),
    ("Lua builtin (rawequal)", "local f = rawequal for i = 1, \(iterations) do f(i, i) end"),
    ("host noop()", "local f = noop for i = 1, \(iterations) do f() end"),
    ("host noop_arg('x')", "local f = noop_arg for i = 1, \(iterations) do f('x') end"),
]
var samples: [String: [Double]] = [:]
for _ in 0..<7 {
    for (name, code) in loops {
        let start = now()
        // Armed as a real run is: deadline and the count hook on.
        try lua.run(code, limits: RunLimits(deadline: 600, memory: 512 << 20))
        samples[name, default: []].append(now() - start)
    }
}
let empty = median(samples["empty loop"]!)
print("## Calling from Lua (\(iterations) calls, median of 7 runs, count hook armed)")
print("")
print("| call | ns per call (loop overhead removed) |")
print("|---|---|")
for (name, _) in loops where name != "empty loop" {
    let perCall = (median(samples[name]!) - empty) / Double(iterations) * 1e9
    print("| \(name) | \(String(format: "%.1f", perCall)) |")
}
print("")

// MARK: 2. `hanfs run` on an empty script against `lua5.4 -e ''`

let emptyScript = NSTemporaryDirectory() + "hanfs-bench-empty.lua"
try "".write(toFile: emptyScript, atomically: true, encoding: .utf8)
defer { try? FileManager.default.removeItem(atPath: emptyScript) }
let runner = ProcessRunner()
let commands: [(String, Command)] = [
    ("lua5.4 -e ''", Command(["lua5.4", "-e", ""], timeout: 30)),
    ("hanfs run empty.lua", Command([hanfs, "run", emptyScript], timeout: 30, environment: ["HANFS_SITE_DIR": "/nonexistent"])),
    ("hanfs --version", Command([hanfs, "--version"], timeout: 30)),
]
var wall: [String: [Double]] = [:]
let rounds = 40
for _ in 0..<rounds {
    for (name, command) in commands {
        let start = now()
        let r = try runner.run(command)
        precondition(r.succeeded, "\(name) failed: \(r.stderrText)")
        wall[name, default: []].append(now() - start)
    }
}
print("## Start-up: wall time of one run (\(rounds) alternating runs each)")
print("")
print("| command | median ms | p90 ms |")
print("|---|---|---|")
for (name, _) in commands {
    let xs = wall[name]!.sorted()
    print("| \(name) | \(String(format: "%.2f", median(xs) * 1000)) | \(String(format: "%.2f", xs[Int(Double(xs.count) * 0.9)] * 1000)) |")
}
let ratio = median(wall["hanfs run empty.lua"]!) / median(wall["lua5.4 -e ''"]!)
print("")
print("hanfs run / lua5.4: \(String(format: "%.1f", ratio))x")
}

// MARK: 3. Loading and validating a large package

if wanted("validate") { try validateBenchmarks() }

// MARK: 4. Package start and stop, against Pacemaker's agents

if wanted("package") { try packageBenchmarks() }

// MARK: 5. The holding-directory sync

if wanted("sync") { try syncBenchmarks(hanfs: hanfs) }

// MARK: 6. The monitor

if wanted("monitor") { try monitorBenchmarks() }

// MARK: 7. The two-node lab under Pacemaker: moves and crashes, hanfs and Pacemaker's agents

if wanted("lab") { try labBenchmarks(hanfs: hanfs) }

// MARK: 7. The kernel NFS lab, in its VM (the guest part runs there: `kernel-lab-guest GRACE ROUNDS`)

let bench = here.appendingPathComponent("hanfs-bench").path
// HANFS_BENCH_ROUNDS: fewer failovers, to try the section out.
let kernelLabRounds = ProcessInfo.processInfo.environment["HANFS_BENCH_ROUNDS"].flatMap { Int($0) } ?? 10
if wanted("kernel-lab") { try kernelLabBenchmarks(hanfs: hanfs, bench: bench, rounds: kernelLabRounds) }
if sections.contains("kernel-lab-guest") {
    let numbers = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    do {
        try kernelLabGuest(hanfs: hanfs, grace: numbers.first ?? 10, rounds: numbers.dropFirst().first ?? 10)
    } catch {
        FileHandle.standardError.write(Data("hanfs-bench kernel-lab-guest: \(error)\n".utf8))
        exit(1)
    }
}
