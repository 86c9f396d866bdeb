import Foundation
import Logging

/// What every primitive works with: how to run commands, where to log, who
/// this node is, and whether this is only a plan.
public struct NodeContext: Sendable {
    public let runner: any CommandRunner
    public let logger: Logger
    /// In a dry run, changing commands are only recorded: the primitives plan
    /// from what they see and do not check results that cannot appear.
    public let planning: Bool
    /// This node's name: its LVM host tag.
    public let nodeName: String
    /// True once the run should stop (deadline, Ctrl-C, SIGTERM): waits
    /// that are not commands (the ARP probe) end early.
    public let shouldStop: @Sendable () -> Bool

    public init(
        runner: any CommandRunner, logger: Logger, planning: Bool = false, nodeName: String = NodeContext.hostName,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) {
        self.shouldStop = shouldStop
        self.runner = runner
        self.logger = logger
        self.planning = planning
        self.nodeName = nodeName
    }

    /// $HANFS_NODE, else the kernel's node name (uname -n).
    public static var hostName: String {
        if let n = ProcessInfo.processInfo.environment["HANFS_NODE"], !n.isEmpty { return n }
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Runs a command; a failure becomes a PrimitiveError unless `check` is false.
    @discardableResult
    public func run(_ argv: [String], timeout: Double, check: Bool = true, readOnly: Bool = false,
             environment: [String: String] = [:]) throws -> CommandResult
    {
        let result = try runner.run(Command(argv, timeout: timeout, environment: environment, readOnly: readOnly))
        if check && !result.succeeded {
            throw PrimitiveError.failed(argv, result)
        }
        return result
    }
}

/// Why a primitive failed, in words for the operator.
public struct PrimitiveError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func failed(_ argv: [String], _ r: CommandResult) -> PrimitiveError {
        let tail = r.stderrTail()
        return PrimitiveError("\(argv.joined(separator: " ")) \(r.summary)" + (tail.isEmpty ? "" : ": \(tail)"))
    }
}

/// How a primitive ended when it did not fail.
public enum Outcome: String, Sendable {
    /// It did what it was asked.
    case done
    /// It was already so: nothing was run.
    case already
    /// Not needed here (fsck of a journaled file system under `auto`).
    case skipped
}

/// Seconds on the monotonic clock: for deadlines and durations.
public enum Monotonic {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
