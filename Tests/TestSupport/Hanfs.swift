import Foundation
import Primitives

/// The hanfs binary built next to the test bundle.
public let hanfsBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("hanfs").path
}()

public struct Output: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a command and returns its status and output (128+N for a signal).
public func output(_ argv: [String], environment: [String: String] = [:], timeout: Double = 30, input: String? = nil)
    throws -> Output
{
    let r = try ProcessRunner().run(Command(argv, timeout: timeout, environment: environment, input: input.map { Array($0.utf8) }))
    let status: Int32
    switch r.termination {
    case .exited(let code): status = code
    case .signaled(let signal): status = 128 + signal
    }
    return Output(status: r.timedOut ? 124 : status, stdout: r.stdoutText, stderr: r.stderrText)
}

/// Runs hanfs with arguments, away from any site directory of this machine.
@discardableResult
public func hanfs(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 30, input: String? = nil)
    throws -> Output
{
    var env = ["HANFS_SITE_DIR": "/nonexistent-hanfs-site"]
    for (k, v) in environment { env[k] = v }
    return try output([hanfsBinary] + arguments, environment: env, timeout: timeout, input: input)
}

extension Thread {
    /// Runs `body` on a thread of its own; `value()` waits for it.
    public static func detachedResult<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Pending<T> {
        let pending = Pending<T>()
        Thread.detachNewThread { pending.finish(Result { try body() }) }
        return pending
    }
}

public final class Pending<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?
    public func finish(_ r: Result<T, Error>) {
        result = r
        done.signal()
    }
    public func value() throws -> T {
        done.wait()
        return try result!.get()
    }
}

/// The checkout this test binary was built from (its README, scripts, stdlib).
public let checkoutDirectory: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}()

/// The text between the README's markers `<!-- BEGIN what: ... -->` and `<!-- END what -->`.
public func readmeBlock(_ what: String) throws -> String {
    let readme = try String(contentsOfFile: checkoutDirectory + "/README.md", encoding: .utf8)
    guard let begin = readme.range(of: "<!-- BEGIN \(what):"), let afterMarker = readme[begin.upperBound...].range(of: "-->\n"),
        let end = readme.range(of: "<!-- END \(what) -->")
    else { throw LabError("README.md has no block \(what)") }
    return String(readme[afterMarker.upperBound..<end.lowerBound])
}

/// The commands of a README block of shell commands, each as its argv
/// (words split at spaces; the blocks use no quoting and no comments).
public func readmeCommands(_ what: String) throws -> [[String]] {
    try readmeBlock(what).split(separator: "\n").filter { !$0.hasPrefix("```") && !$0.isEmpty }
        .map { $0.split(separator: " ").map(String.init) }
}
