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
        let below = ["LuaRuntime", "PackageConfig", "Primitives", "HostBindings", "Actions", "SafeFiles", "LuaBoundary", "LinuxCalls"]
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

    /// Every function (and initializer, and computed property) in Sources
    /// fits on a screen: under 80 lines from its first line to its closing brace.
    @Test func noFunctionInSourcesIsLongerThan80Lines() throws {
        let sources = Self.repository.appendingPathComponent("Sources").path
        var long: [String] = []
        var measured = 0
        for file in FileManager.default.enumerator(atPath: sources)?.allObjects as? [String] ?? [] {
            let swift = file.hasSuffix(".swift")
            guard swift || file.hasSuffix(".c") else { continue }
            let lines = try String(contentsOfFile: "\(sources)/\(file)", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() where Self.beginsFunction(line, swift: swift) {
                var depth = 0
                var opened = false
                var end = i
                while end < lines.count {
                    depth += lines[end].filter { $0 == "{" }.count - lines[end].filter { $0 == "}" }.count
                    opened = opened || lines[end].contains("{")
                    if opened && depth <= 0 { break }
                    end += 1
                }
                measured += 1
                if end - i + 1 >= 80 { long.append("Sources/\(file):\(i + 1): \(end - i + 1) lines") }
            }
        }
        #expect(measured > 500, "the scan found only \(measured) functions")
        #expect(long.isEmpty, "\(long.joined(separator: "\n"))")
    }

    static func beginsFunction(_ line: Substring, swift: Bool) -> Bool {
        let code = line.drop { $0 == " " }
        guard swift else { return code == line && line.hasSuffix(") {") && line.first?.isLetter == true }
        let words = code.split(separator: " ").prefix { ["public", "private", "fileprivate", "internal", "static", "override", "mutating", "final", "@discardableResult"].contains($0) || $0.hasPrefix("@") }
        let rest = code.split(separator: " ").dropFirst(words.count).first ?? ""
        return rest == "func" || rest.hasPrefix("init(") || rest.hasPrefix("init<") || rest == "init?("
            || (rest == "var" && code.hasSuffix("{") && !code.contains("="))
    }
}
