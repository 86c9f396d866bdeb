import Foundation
import HostBindings
import PackageConfig

/// Loading and validating a package as it grows: N file systems with one
/// export each, in the modular and the native format. Linear means each
/// doubling of N doubles the time.
func validateBenchmarks() throws {
    let dir = "/tmp/hanfs-bench-validate-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let installation = Installation(shareDirectory: "/nonexistent", siteDirectory: nil)
    func modular(_ n: Int) -> String {
        var text = "package_name big\n"
        for i in 0..<n { text += "fs_name /dev/sd\(i)\nfs_directory /srv/nfs/fs\(i)\nfs_type ext4\n" }
        for i in 0..<n { text += "XFS \"-o rw,fsid=\(i + 1) *:/srv/nfs/fs\(i)\"\n" }
        return text
    }
    func native(_ n: Int) -> String {
        var text = "package { name = \"big\" }\n"
        for i in 0..<n { text += "filesystem { device = \"/dev/sd\(i)\", directory = \"/srv/nfs/fs\(i)\", type = \"ext4\" }\n" }
        for i in 0..<n { text += "export { directory = \"/srv/nfs/fs\(i)\", options = \"rw\", fsid = \(i + 1) }\n" }
        return text
    }
    print("")
    print("## Loading and validating a package (N file systems, one export each; median of 5)")
    print("")
    print("| N | modular ms | per doubling | native (Lua) ms | per doubling |")
    print("|---|---|---|---|---|")
    var previous: (Double, Double)?
    for n in [1000, 2000, 4000, 10000] {
        let files = [("\(dir)/m\(n).conf", modular(n)), ("\(dir)/n\(n).lua", native(n))]
        var times: [Double] = []
        for (path, text) in files {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            var samples: [Double] = []
            for _ in 0..<5 {
                let t0 = now()
                let c = try PackageLoader.load(path, installation: installation)
                samples.append(now() - t0)
                precondition(c.fileSystems.count == n && c.exports.count == n)
            }
            times.append(median(samples))
        }
        let doubling = previous.map { p in
            n == 2 * (n / 2) && n <= 4000 ? (String(format: "%.2fx", times[0] / p.0), String(format: "%.2fx", times[1] / p.1)) : ("", "")
        } ?? ("", "")
        print(String(format: "| %d | %.1f | %@ | %.1f | %@ |", n, times[0] * 1000, doubling.0, times[1] * 1000, doubling.1))
        previous = (times[0], times[1])
    }
}
