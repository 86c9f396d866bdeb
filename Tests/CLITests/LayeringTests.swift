import Foundation
import Testing

/// The layers below the front ends take what they need from the context the
/// front end built (NodeSettings, Installation, the options): none of them
/// reads or changes the process environment. Only the environment commands
/// inherit is read there, once, in ProcessRunner.
@Suite struct Layering {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func nothingBelowTheFrontEndsReadsOrSetsTheEnvironment() throws {
        let below = ["LuaRuntime", "PackageConfig", "Primitives", "HostBindings", "SafeFiles", "LuaBoundary", "LinuxCalls"]
        var found: [String] = []
        var inherited = 0
        for target in below {
            let dir = Self.repository.appendingPathComponent("Sources/\(target)").path
            for file in FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [] {
                guard file.hasSuffix(".swift") || file.hasSuffix(".c") || file.hasSuffix(".h") else { continue }
                let text = try String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.drop { $0 == " " }
                    if code.hasPrefix("//") || code.hasPrefix("///") { continue }
                    guard ["setenv(", "getenv(", "unsetenv(", "putenv(", "processInfo.environment"].contains(where: { line.contains($0) })
                    else { continue }
                    if line.contains("// inherited by children") {
                        inherited += 1
                    } else {
                        found.append("Sources/\(target)/\(file):\(n + 1): \(code)")
                    }
                }
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
        // The check reads the sources: it sees the one read it allows.
        #expect(inherited == 1)
    }
}
