import Foundation
import Logging

/// Who this node is and where hanfs keeps its state and logs on it. The
/// front end (the command line, Serviceguard, Pacemaker) decides it once,
/// from its options and its environment, and hands it down: nothing below
/// the front ends reads the process environment.
public struct NodeSettings: Sendable, Equatable {
    /// This node's name: its LVM host tag.
    public var nodeName: String
    /// Runtime notes, locks and links (a tmpfs: empty after a reboot).
    public var runDirectory: String
    /// The package logs, unless a package names its own.
    public var logDirectory: String
    /// The syslog socket the package logs go to as well; nil: the journal's
    /// where journald runs, else /dev/log.
    public var syslogSocket: String?

    public init(nodeName: String = NodeSettings.kernelNodeName, runDirectory: String = "/run/hanfs",
                logDirectory: String = "/var/log/hanfs", syslogSocket: String? = nil) {
        self.nodeName = nodeName
        self.runDirectory = runDirectory
        self.logDirectory = logDirectory
        self.syslogSocket = syslogSocket
    }

    /// What the environment says (HANFS_NODE, HANFS_RUN_DIR, HANFS_LOG_DIR, HANFS_SYSLOG_SOCKET),
    /// else the defaults: for front ends only.
    public static func from(environment env: [String: String]) -> NodeSettings {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        return NodeSettings(
            nodeName: value("HANFS_NODE") ?? kernelNodeName, runDirectory: value("HANFS_RUN_DIR") ?? "/run/hanfs",
            logDirectory: value("HANFS_LOG_DIR") ?? "/var/log/hanfs", syslogSocket: value("HANFS_SYSLOG_SOCKET"))
    }

    /// The kernel's node name (uname -n).
    public static var kernelNodeName: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The same settings for a hanfs process started in the background (the
    /// monitor, the sync): processes share them through their environment.
    public var environment: [String: String] {
        ["HANFS_NODE": nodeName, "HANFS_RUN_DIR": runDirectory, "HANFS_LOG_DIR": logDirectory]
            .merging(syslogSocket.map { ["HANFS_SYSLOG_SOCKET": $0] } ?? [:]) { a, _ in a }
    }

    /// The package's runtime notes on this node.
    public func runtime(_ package: String) -> PackageRuntime { PackageRuntime(package: package, directory: runDirectory) }
}

/// What every primitive works with: how to run commands, where to log, who
/// this node is, and whether this is only a plan.
public struct NodeContext: Sendable {
    public let runner: any CommandRunner
    public let logger: Logger
    /// Every change that is not a command goes through these (Effects).
    public let effects: Effects
    /// In a dry run, changing commands and changes are only recorded: the
    /// primitives plan from what they see and do not check results that cannot appear.
    public var planning: Bool { effects.planning }
    /// Who this node is, where its state and logs are.
    public let settings: NodeSettings
    /// True once the run should stop (deadline, Ctrl-C, SIGTERM): waits
    /// that are not commands (the ARP probe) end early.
    public let shouldStop: @Sendable () -> Bool

    public init(
        runner: any CommandRunner, logger: Logger, planning: Bool = false, settings: NodeSettings = NodeSettings(),
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) {
        self.shouldStop = shouldStop
        self.runner = runner
        self.logger = logger
        self.effects = Effects(planning: planning, logger: logger)
        self.settings = settings
    }

    /// This node's name: its LVM host tag.
    public var nodeName: String { settings.nodeName }

    /// Runs a command; a failure becomes a PrimitiveError unless `check` is
    /// false. `failureIsAnswer`: its failure tells something (no such VG), logged as info.
    @discardableResult
    public func run(_ argv: [String], timeout: Double, check: Bool = true, readOnly: Bool = false,
             environment: [String: String] = [:], failureIsAnswer: Bool = false) throws -> CommandResult
    {
        var command = Command(argv, timeout: timeout, environment: environment, readOnly: readOnly)
        command.failureIsAnswer = failureIsAnswer
        let result = try runner.run(command)
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
