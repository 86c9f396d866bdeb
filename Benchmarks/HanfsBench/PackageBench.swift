import Foundation
import Primitives
import TestSupport

/// Start and stop of a package on the lab's real parts (loop devices, LVM
/// metadata, ext4, exportfs, a veth in namespaces), against Pacemaker's
/// Filesystem and IPaddr2 agents doing the same storage and IP steps, all
/// in one run, alternating.
func packageBenchmarks() throws {
    print("")
    guard isRoot else {
        print("## Package start and stop: skipped (needs root)")
        return
    }
    let lab = try Lab(volumeGroups: ["vgbench"], fileSystems: Array(repeating: "ext4", count: 16))
    defer { lab.teardown() }
    let address = "address { address = \"192.0.2.10/24\", interface = \"\(lab.interface)\" }\n"
    func fs(_ i: Int) -> String {
        "filesystem { device = \"\(lab.devices[i])\", directory = \"/srv/nfs/fs\(i)\", type = \"ext4\" }\n"
    }
    func write(_ name: String, _ text: String) throws -> String {
        let path = "\(lab.dir)/\(name).lua"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
    // The agents' steps: a file system and an address, no DAD probe (IPaddr2's default).
    let same = try write("same", "package { name = \"same\", dad_timeout = 0 }\n" + fs(0) + address)
    // The whole package with hanfs's defaults: VG, fsck policy, export, DAD probe.
    let full = try write(
        "full",
        "package { name = \"full\" }\nvg \"vgbench\"\n" + fs(0)
            + "export { directory = \"/srv/nfs/fs0\", clients = \"*\", options = \"rw\", fsid = 1 }\n" + address)
    func sixteen(_ name: String, _ concurrency: Int, fsck: String) throws -> String {
        try write(
            name,
            "package { name = \"\(name)\", run_fsck = \"\(fsck)\", fsck_concurrency = \(concurrency), mount_concurrency = \(concurrency) }\n"
                + (0..<16).map(fs).joined())
    }
    let serial = try sixteen("serial", 1, fsck: "force")
    let parallel = try sixteen("parallel", 8, fsck: "force")
    let serialNoFsck = try sixteen("serialmount", 1, fsck: "auto")
    let parallelNoFsck = try sixteen("parallelmount", 8, fsck: "auto")

    /// How many file systems each package has: start must go from none to
    /// that many mounted, stop back to none; a run that did not do its work
    /// is no figure.
    var expectedMounts: [String: Int] = [:]
    for config in [serial, parallel, serialNoFsck, parallelNoFsck] { expectedMounts[config] = 16 }
    let agents = "/usr/lib/ocf/resource.d/heartbeat"
    let ocf = [
        "OCF_ROOT=/usr/lib/ocf", "OCF_RESKEY_device=\(lab.devices[0])", "OCF_RESKEY_directory=/srv/nfs/fs0",
        "OCF_RESKEY_fstype=ext4", "OCF_RESKEY_ip=192.0.2.10", "OCF_RESKEY_cidr_netmask=24", "OCF_RESKEY_nic=\(lab.interface)",
    ]
    // Both agents in one process tree, as hanfs is one: `sh -c` with the agents as arguments.
    func agentsRun(_ first: String, _ second: String, _ action: String) throws {
        let out = try lab.inNode(
            ["env"] + ocf + ["sh", "-c", "\"$1\" \"$3\" && \"$2\" \"$3\"", "agents", first, second, action], check: false)
        guard out.status == 0 else { throw LabError("agents \(action): \(out.stderr)") }
    }

    /// Each measured step starts from written-back devices: an unmount
    /// leaves writes to the loop devices' files for the kernel to finish,
    /// which would otherwise fall into whatever runs next.
    func timed(_ body: () throws -> Void) throws -> Double {
        try lab.inNode(["sync"])
        let t = now()
        try body()
        return now() - t
    }
    /// Runs hanfs, checking the mounts before and after (outside the time
    /// measured); returns its wall time.
    func hanfsRun(_ action: String, _ config: String) throws -> Double {
        // The packages share the lab's devices: a start must begin from nothing mounted.
        if action == "start", try !lab.mountPoints().isEmpty { throw LabError("\(config): something is mounted before start") }
        var out: Output?
        let seconds = try timed { out = try lab.hanfs([action, "--config", config]) }
        guard let out, out.status == 0 else { throw LabError("hanfs \(action) \(config): \(out?.stderr ?? "")") }
        let mounted = try lab.mountPoints().count
        let want = action == "start" ? expectedMounts[config] ?? 1 : 0
        guard mounted == want else {
            throw LabError("hanfs \(action) \(config) left \(mounted) file systems mounted, not \(want): \(out.stderr)")
        }
        return seconds
    }
    /// Seconds spent in commands, and from the first log line of the run to
    /// its last, from the lines the last run added to the package log.
    var recordOffsets: [String: Int] = [:]
    var scriptSeconds: [Double] = []
    func records(_ package: String) -> [[String: Any]] { PackageEvents.read("\(lab.logDir)/\(package).log.jsonl") }
    func kind(_ r: [String: Any], _ event: String, _ phase: String? = nil) -> Bool {
        r["event"] as? String == event && (phase == nil || r["phase"] as? String == phase)
    }
    func seconds(_ r: [String: Any]) -> Double { Double(r["duration_ms"] as? Int ?? 0) / 1000 }
    func commandSeconds(_ package: String) -> Double {
        let all = records(package)
        let fresh = all.dropFirst(recordOffsets[package] ?? 0)
        recordOffsets[package] = all.count
        if let done = fresh.last(where: { kind($0, "action", "done") }) { scriptSeconds.append(seconds(done)) }
        return fresh.filter { kind($0, "command") }.map(seconds).reduce(0, +)
    }

    /// Seconds from the start of the mount step to the end of the run, from
    /// the package's records (each run of these packages is alone in them).
    func mountStepSeconds(_ package: String) -> Double {
        let all = records(package)
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func time(_ r: [String: Any]) -> Double { (r["time"] as? String).flatMap(parser.date(from:))?.timeIntervalSince1970 ?? 0 }
        guard let begin = all.lastIndex(where: { kind($0, "step") && ($0["step"] as? String)?.hasPrefix("check and mount") == true }),
            let end = all[begin...].firstIndex(where: { kind($0, "action", "done") })
        else { return 0 }
        return time(all[end]) - time(all[begin])
    }

    var t: [String: [Double]] = [:]
    var overhead: [Double] = []
    let rounds = 10
    // One round unmeasured: page cache, first mounts.
    for round in 0...rounds {
        var sample: [String: Double] = [:]
        sample["hanfs start"] = try hanfsRun("start", same)
        let inCommands = commandSeconds("same")
        if round == 0 { scriptSeconds = [] }
        sample["hanfs stop"] = try hanfsRun("stop", same)
        _ = commandSeconds("same")
        sample["agents start"] = try timed { try agentsRun("\(agents)/Filesystem", "\(agents)/IPaddr2", "start") }
        sample["agents stop"] = try timed { try agentsRun("\(agents)/IPaddr2", "\(agents)/Filesystem", "stop") }
        sample["hanfs full start"] = try hanfsRun("start", full)
        sample["hanfs full stop"] = try hanfsRun("stop", full)
        sample["16 serial start"] = try hanfsRun("start", serial)
        sample["16 serial mount step"] = mountStepSeconds("serial")
        sample["16 serial stop"] = try hanfsRun("stop", serial)
        sample["16 parallel start"] = try hanfsRun("start", parallel)
        sample["16 parallel mount step"] = mountStepSeconds("parallel")
        sample["16 parallel stop"] = try hanfsRun("stop", parallel)
        sample["16 serial mount-only start"] = try hanfsRun("start", serialNoFsck)
        sample["16 serial mount-only stop"] = try hanfsRun("stop", serialNoFsck)
        sample["16 parallel mount-only start"] = try hanfsRun("start", parallelNoFsck)
        sample["16 parallel mount-only stop"] = try hanfsRun("stop", parallelNoFsck)
        // The machine's own ceiling: the same 16 mounts from a shell, one at
        // a time and all at once, with nothing of hanfs's.
        let pairs = lab.devices.enumerated().flatMap { [$0.element, "/srv/nfs/fs\($0.offset)"] }
        let loop = "while [ $# -gt 0 ]; do\n%@\nshift 2; done; wait"
        for (name, mount, umount) in [
            ("shell serial", "mount -t ext4 \"$1\" \"$2\"", "umount \"$2\""),
            ("shell parallel", "mount -t ext4 \"$1\" \"$2\" &", "umount \"$2\" &"),
        ] {
            sample["\(name) start"] = try timed {
                _ = try lab.inNode(["sh", "-c", loop.replacingOccurrences(of: "%@", with: mount), "sh"] + pairs)
            }
            guard try lab.mountPoints().count == 16 else { throw LabError("\(name): not 16 mounted") }
            sample["\(name) stop"] = try timed {
                _ = try lab.inNode(["sh", "-c", loop.replacingOccurrences(of: "%@", with: umount), "sh"] + pairs)
            }
            guard try lab.mountPoints().isEmpty else { throw LabError("\(name): still mounted") }
        }
        if round > 0 {
            for (k, v) in sample { t[k, default: []].append(v) }
            overhead.append(sample["hanfs start"]! - inCommands)
        }
    }
    func ms(_ k: String) -> String { String(format: "%.1f", median(t[k]!) * 1000) }
    func ratio(_ a: String, _ b: String) -> String { String(format: "%.2f", median(t[a]!) / median(t[b]!)) }
    let nsenter = try (0..<20).map { _ in try timed { _ = try lab.inNode(["true"]) } }

    print("## Package start and stop (median of \(rounds) alternating rounds, ms)")
    print("")
    print("Every command runs inside the lab's namespaces through nsenter (\(String(format: "%.1f", median(nsenter) * 1000)) ms for `true`).")
    print("")
    print("| what | start | stop |")
    print("|---|---|---|")
    print("| Pacemaker Filesystem + IPaddr2 (1 ext4, 1 address) | \(ms("agents start")) | \(ms("agents stop")) |")
    print("| hanfs, the same steps (1 ext4, 1 address, dad_timeout 0) | \(ms("hanfs start")) | \(ms("hanfs stop")) |")
    print("| hanfs, whole package (VG tags, ext4, export, address with a 0.5 s DAD probe) | \(ms("hanfs full start")) | \(ms("hanfs full stop")) |")
    print("| hanfs, 16 ext4 with fsck, one at a time | \(ms("16 serial start")) | \(ms("16 serial stop")) |")
    print("| hanfs, 16 ext4 with fsck, 8 at a time | \(ms("16 parallel start")) | \(ms("16 parallel stop")) |")
    print("| hanfs, 16 ext4 (run_fsck auto: no fsck), one at a time | \(ms("16 serial mount-only start")) | \(ms("16 serial mount-only stop")) |")
    print("| hanfs, 16 ext4 (run_fsck auto: no fsck), 8 at a time | \(ms("16 parallel mount-only start")) | \(ms("16 parallel mount-only stop")) |")
    print("| reference: the same 16 mount(8)/umount(8) from a shell, one at a time | \(ms("shell serial start")) | \(ms("shell serial stop")) |")
    print("| reference: the same, all 16 at once | \(ms("shell parallel start")) | \(ms("shell parallel stop")) |")
    print("")
    print("- hanfs start / agents start: \(ratio("hanfs start", "agents start"))x; stop: \(ratio("hanfs stop", "agents stop"))x")
    print("- the machine's ceiling, mount(8) from a shell, all at once / one at a time: mount \(ratio("shell parallel start", "shell serial start"))x, umount \(ratio("shell parallel stop", "shell serial stop"))x")
    print("- 16 file systems without fsck, 8 at a time / one at a time: start \(ratio("16 parallel mount-only start", "16 serial mount-only start"))x, stop \(ratio("16 parallel mount-only stop", "16 serial mount-only stop"))x")
    print("- 16 file systems with fsck, 8 at a time / one at a time: start \(ratio("16 parallel start", "16 serial start"))x, stop \(ratio("16 parallel stop", "16 serial stop"))x; the fsck-and-mount step alone (\(ms("16 parallel mount step")) ms against \(ms("16 serial mount step")) ms): \(ratio("16 parallel mount step", "16 serial mount step"))x")
    let version = try (0..<20).map { _ in try timed { _ = try lab.inNode([hanfsBinary, "--version"]) } }
    print(String(format: "- of a start's wall time (median %.1f ms), the script took %.1f ms (from the log's first line to `done`), %.1f ms of it in commands",
                 median(t["hanfs start"]!) * 1000, median(scriptSeconds) * 1000, median(overhead.indices.map { t["hanfs start"]![$0] - overhead[$0] }) * 1000))
    print(String(format: "- hanfs's own time in a start (wall time less the commands it ran): median %.1f ms, max %.1f ms, of which nsenter %.1f ms and starting the hanfs process %.1f ms (`hanfs --version` %.1f ms, less nsenter)",
                 median(overhead) * 1000, (overhead.max() ?? 0) * 1000, median(nsenter) * 1000,
                 (median(version) - median(nsenter)) * 1000, (median(version) - median(nsenter)) * 1000))
}
