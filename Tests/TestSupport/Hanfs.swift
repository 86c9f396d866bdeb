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
