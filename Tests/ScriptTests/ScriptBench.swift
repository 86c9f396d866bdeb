import Actions
import Foundation
import HostBindings
import Logging
import LuaRuntime
import Primitives
import Synchronization
import TestSupport

/// The control scripts run in this process against recording fakes of the
/// package primitives: no root, no daemons, milliseconds a run. Each fake
/// records its call (`vg_activate vg01`) and keeps a small model of the
/// node (what is up), so a test can say "after this failed start nothing of
/// the package is up". One call can be made to fail (`failAt`).
final class Recorder: Sendable {
    private struct State {
        var calls: [String] = []
        var steps: [String] = []
        var up: Set<String> = []
        var failAt: String?
        /// How many times it fails; nil: every time.
        var failures: Int?
    }
    private let state = Mutex(State())
    /// Called with each call's text before it is recorded (a test's way to change the world mid-run).
    let onCall: @Sendable (String) -> Void

    init(failAt: String? = nil, failures: Int? = nil, onCall: @escaping @Sendable (String) -> Void = { _ in }) {
        state.withLock {
            $0.failAt = failAt
            $0.failures = failures
        }
        self.onCall = onCall
    }

    var calls: [String] { state.withLock { $0.calls } }
    var steps: [String] { state.withLock { $0.steps } }
    var up: Set<String> { state.withLock { $0.up } }
    func setUp(_ things: Set<String>) { state.withLock { $0.up = things } }

    /// What each fake brings up, and what takes it down again.
    static let brings: [String: String] = [
        "vg_activate": "vg", "mount": "fs", "export": "export", "nfs_server_start": "ganesha", "ip_add": "ip",
        "lock_migration_claim": "claim", "flm_start": "flm", "statd_restart": "statd", "sm_notify": "notify",
        "monitor_start": "monitor", "kernel_server_start": "kernel",
    ]
    static let takes: [String: String] = [
        "vg_deactivate": "vg", "umount": "fs", "unexport": "export", "nfs_server_stop": "ganesha", "ip_remove": "ip",
        "lock_migration_release": "claim", "flm_stop": "flm", "statd_restore": "statd", "sm_notify_stop": "notify",
        "monitor_stop": "monitor", "kernel_server_stop": "kernel",
    ]

    func record(_ name: String, _ key: String) throws {
        let call = key.isEmpty ? name : "\(name) \(key)"
        onCall(call)
        try state.withLock { s in
            if call == s.failAt, s.failures ?? 1 > 0 {
                s.failures = s.failures.map { $0 - 1 }
                throw HostError("injected failure: \(call)")
            }
            s.calls.append(call)
            if let thing = Self.brings[name] { s.up.insert(key.isEmpty ? thing : "\(thing) \(key)") }
            if let thing = Self.takes[name] {
                if key.isEmpty { s.up = s.up.filter { $0 != thing && !$0.hasPrefix(thing + " ") } }
                else { s.up.subtract([thing, "\(thing) \(key)"]) }
            }
        }
    }

    func step(_ title: String?) { state.withLock { s in if let title { s.steps.append(title) } } }

    func isUp(_ thing: String) -> Bool { state.withLock { $0.up.contains { $0 == thing || $0.hasPrefix(thing + " ") } } }

    /// The fakes, in Lua over hanfs's primitives: each records and answers "done".
    static let fakes = """
        local recorded = {
          "vg_activate", "vg_deactivate", "fsck", "mount", "umount", "export", "unexport", "nfs_server_start",
          "nfs_server_stop", "ip_probe", "ip_add", "ip_remove", "lock_migration_claim", "lock_migration_release", "flm_start",
          "flm_stop", "sm_restore", "nsm_state_new", "statd_restart", "statd_restore", "lockd_restart", "sm_notify",
          "sm_notify_stop", "monitor_start", "monitor_stop", "kernel_server_start", "kernel_server_stop", "nfs_unlock_ip",
          "connections_record", "connections_prompt",
        }
        local function key(x)
          if type(x) == "string" then return x end
          if type(x) == "table" then return x.directory or x.address or "" end
          return ""
        end
        for _, name in ipairs(recorded) do
          _G[name] = function(x, options)
            local k = key(x)
            if type(options) == "table" and options.takeover then k = k .. " takeover" end
            record(name, k)
            return "done"
          end
        end
        statd_pid = function() return 4242 end
        monitor_running = function() return is_up("monitor") end
        flm_running = function() return is_up("flm") end
        fs_mounted = function(fs) return is_up("fs " .. fs.directory), fs.directory .. " is not mounted" end
        ip_present = function(address) return false end
        set_step = function(title) record_step(title) end
        """

    /// Registers the recorder's host functions and the fakes.
    func install(_ host: ScriptHost) throws {
        host.lua.register("record") { call in
            try self.record(try call.string(1), try call.string(2))
            return 0
        }
        host.lua.register("record_step") { call in
            self.step(call.optionalString(1, converting: false))
            return 0
        }
        host.lua.register("is_up") { call in try call.push(.boolean(self.isUp(try call.string(1)))) }
        try host.lua.run(Self.fakes, chunkName: "=fakes", limits: RunLimits(deadline: 5))
    }
}

/// A scratch node: run and log directories, a site directory, a package
/// file, and the pipeline with the checkout's scripts and stdlib.
struct ScriptBench {
    let scratch: Scratch
    let package: String

    /// A package of two VGs, two file systems (one inside the other), two
    /// exports, an address, lock migration and a monitor hanfs runs.
    static let fullPackage = """
        package { name = "p", lock_migration = { enabled = true, holding_dir = "/srv/a/.sm", sm_dir = "/var/lib/nfs/sm" },
                  monitor = { run = true } }
        vg "vg01"
        vg "vg02"
        filesystem { device = "/dev/vg01/lv1", directory = "/srv/a", type = "ext4" }
        filesystem { device = "/dev/vg02/lv1", directory = "/srv/a/b", type = "ext4" }
        export { directory = "/srv/a", clients = "*", options = "rw", fsid = 1 }
        export { directory = "/srv/a/b", clients = "*", options = "rw", fsid = 2 }
        address { address = "192.0.2.10/24", interface = "eth1" }
        """

    init(package text: String = ScriptBench.fullPackage, site: String? = nil) throws {
        Self.quietLogging
        scratch = try Scratch()
        package = try scratch.write("p.lua", text)
        if let site { try scratch.write("site/site.lua", site) }
    }

    /// swift-log allows one bootstrap per process: the in-process runs log nowhere.
    static let quietLogging: Void = LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }

    func context(_ recorder: Recorder?, planning: Bool = false) -> HanfsContext {
        var context = HanfsContext(
            settings: NodeSettings(nodeName: "node1", runDirectory: scratch.path + "/run", logDirectory: scratch.path + "/log"),
            installation: Installation(shareDirectory: checkoutDirectory, siteDirectory: scratch.path + "/site"),
            planning: planning, catchesSignals: false)
        if let recorder { context.extendHost = { try recorder.install($0) } }
        return context
    }

    /// Runs a control script on the package; nil recorder: the real primitives.
    func run(
        _ script: String, _ recorder: Recorder?, planning: Bool = false, arguments: [String] = [],
        clusterManager: Bool = false, takeover: Bool = false, deadline: Double = 10
    ) -> ActionRun {
        var action = Action.onPackage(script, config: package, deadline: deadline, takesLock: ["start", "stop"].contains(script))
        action.arguments = arguments
        action.clusterManagerDoesStorageAndAddresses = clusterManager
        action.takeover = takeover
        return ActionPipeline(context(recorder, planning: planning)).perform(action)
    }
}
