import Foundation
import Synchronization
import PackageConfig

/// A volume group as LVM reports it.
public struct VGInfo: Sendable, Equatable {
    public var name: String
    public var tags: [String]
    /// The owner's system ID; empty if none.
    public var systemID: String
    public var logicalVolumes: Int
    /// How many LVs are active; nil when this node's LVM cannot activate
    /// (activation = 0 in lvm.conf) and so cannot tell.
    public var activeVolumes: Int?
}

/// LVM volume groups with exclusive ownership: by host tags (this node's
/// name as a tag, activation limited to VGs carrying it) or by LVM's system
/// ID. The result is read back from LVM, not taken from an exit status.
public final class VolumeGroups: Sendable {
    public let node: NodeContext
    static let environment = ["LVM_SUPPRESS_FD_WARNINGS": "1"]
    /// Whether LVM activates here: read once, it is the node's lvm.conf.
    private let activation = Mutex<Bool?>(nil)

    public init(_ node: NodeContext) { self.node = node }

    @discardableResult
    func lvm(_ argv: [String], timeout: Double, check: Bool = true, readOnly: Bool = false, failureIsAnswer: Bool = false) throws -> CommandResult {
        try node.run(argv, timeout: timeout, check: check, readOnly: readOnly, environment: Self.environment, failureIsAnswer: failureIsAnswer)
    }

    /// The VG, foreign ones included; nil if LVM does not see it.
    public func inspect(_ name: String, timeout: Double = 30) throws -> VGInfo? {
        // Where LVM activates, each LV's state too, in the same call: a row per LV
        // (one with empty LV fields for a VG without any).
        let activates = try activationEnabled(timeout: timeout)
        let fields = "vg_name,vg_tags,vg_systemid,lv_count" + (activates ? ",lv_active" : "")
        let r = try lvm(
            ["vgs", "--foreign", "--noheadings", "--separator", "|", "-o", fields, name],
            timeout: timeout, check: false, readOnly: true, failureIsAnswer: true)
        guard r.succeeded else {
            if r.stderrText.contains("not found") || r.exitCode == 5 { return nil }
            throw PrimitiveError.failed(["vgs", name], r)
        }
        let rows = r.stdoutText.split(separator: "\n").map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }.filter { !($0.first ?? "").isEmpty }
        guard let f = rows.first else { return nil }
        guard f.count >= (activates ? 5 : 4) else { throw PrimitiveError("vgs: cannot read \"\(f.joined(separator: "|"))\"") }
        var info = VGInfo(
            name: f[0], tags: f[1].split(separator: ",").map(String.init), systemID: f[2],
            logicalVolumes: Int(f[3]) ?? 0, activeVolumes: nil)
        if activates { info.activeVolumes = rows.filter { $0.count >= 5 && $0[4] == "active" }.count }
        return info
    }

    /// Whether this node's LVM activates LVs at all (lvm.conf global/activation).
    public func activationEnabled(timeout: Double = 30) throws -> Bool {
        if let known = activation.withLock({ $0 }) { return known }
        // Not set: status 5, and activation is on.
        let r = try lvm(["lvmconfig", "--type", "current", "global/activation"], timeout: timeout, check: false, readOnly: true, failureIsAnswer: true)
        let enabled = !r.stdoutText.contains("activation=0")
        activation.withLock { $0 = enabled }
        return enabled
    }

    /// This node's LVM system ID (`lvm systemid`); empty if none is set.
    public func localSystemID(timeout: Double = 30) throws -> String {
        let r = try lvm(["lvm", "systemid"], timeout: timeout, readOnly: true)
        // "  system ID: node1"
        return r.stdoutText.split(separator: ":", maxSplits: 1).dropFirst().first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Takes the VG for this node and activates it. Owned or tagged by
    /// another node: refused, naming the owner and what to do, unless
    /// `takeover` (the other node is down: fenced by the cluster manager, or
    /// made sure of by an operator); a take-over is logged, naming whose it was.
    public func activate(_ name: String, ownership: VGOwnership, takeover: Bool, timeout: Double) throws -> Outcome {
        guard let vg = try inspect(name, timeout: timeout) ?? assumeVisible(name, timeout: timeout) else {
            throw PrimitiveError("volume group \(name) not found: is its storage visible on this node?")
        }
        let me: String
        switch ownership {
        case .tags:
            me = node.nodeName
            let others = vg.tags.filter { $0 != me }
            if !others.isEmpty && !takeover { throw Self.refusal(name, owner: others.joined(separator: ", "), "is tagged by another node") }
            if vg.tags == [me], vg.activeVolumes.map({ $0 == vg.logicalVolumes }) ?? true { return .already }
            // The dead node's tags out and this node's in, in one metadata update: the
            // VG is never without an owner in between, and LVM starts once, not twice.
            var retag: [String] = []
            for tag in others {
                Self.logTakeover(node, name, from: tag)
                retag += ["--deltag", tag]
            }
            if !vg.tags.contains(me) { retag += ["--addtag", me] }
            if !retag.isEmpty { try lvm(["vgchange"] + retag + [name], timeout: timeout) }
            // Only a VG carrying this node's tag may be activated here. (Where LVM
            // does not activate at all, there is nothing to run; verifyOwned says so.)
            if vg.activeVolumes != nil {
                try lvm(
                    ["vgchange", "--config", "activation { volume_list = [ \"@\(me)\" ] }", "-a", "y", name], timeout: timeout)
            }
        case .systemID:
            me = try localSystemID(timeout: timeout)
            guard !me.isEmpty else {
                throw PrimitiveError("this node has no LVM system ID (set system_id_source in lvm.conf)")
            }
            if !vg.systemID.isEmpty && vg.systemID != me && !takeover {
                throw Self.refusal(name, owner: vg.systemID, "is owned by system ID")
            }
            if vg.systemID == me, vg.activeVolumes.map({ $0 == vg.logicalVolumes }) ?? true { return .already }
            if vg.systemID != me {
                if !vg.systemID.isEmpty { Self.logTakeover(node, name, from: vg.systemID) }
                var argv = ["vgchange", "-y"]
                if !vg.systemID.isEmpty { argv += ["--config", "local/extra_system_ids=[\"\(vg.systemID)\"]"] }
                try lvm(argv + ["--systemid", me, name], timeout: timeout)
            }
            if vg.activeVolumes != nil { try lvm(["vgchange", "-a", "y", name], timeout: timeout) }
        }
        guard !node.planning else { return .done }
        try verifyOwned(name, by: me, ownership: ownership, timeout: timeout)
        return .done
    }

    /// In a plan, a VG this node does not see yet (the package never ran
    /// here, its storage not yet presented): planned as found free and inactive, and said.
    func assumeVisible(_ name: String, timeout: Double) throws -> VGInfo? {
        guard node.planning else { return nil }
        node.effects.assume("volume group \(name) is visible here, unclaimed and inactive (this node does not see it now)")
        return VGInfo(name: name, tags: [], systemID: "", logicalVolumes: 0, activeVolumes: try activationEnabled(timeout: timeout) ? 0 : nil)
    }

    /// Why a start does not take another node's VG, and what to do.
    static func refusal(_ name: String, owner: String, _ how: String) -> PrimitiveError {
        PrimitiveError(
            "volume group \(name) \(how) \(owner); refusing. If \(owner) is down (powered off or fenced), "
                + "take it over: hanfs start --takeover, or let the cluster manager start the package (it fences first)")
    }

    /// A take-over, in the log and as a record (`event: takeover`, `from`) the timeline reads.
    static func logTakeover(_ node: NodeContext, _ name: String, from owner: String) {
        node.logger.warning(
            "taking volume group \(name) over from \(owner), which is down (fenced, or made sure of by --takeover)",
            metadata: ["event": "takeover", "volume_group": "\(name)", "from": "\(owner)"])
    }

    func verifyOwned(_ name: String, by me: String, ownership: VGOwnership, timeout: Double) throws {
        guard let after = try inspect(name, timeout: timeout) else {
            throw PrimitiveError("volume group \(name) vanished while it was activated")
        }
        switch ownership {
        case .tags where after.tags != [me]:
            throw PrimitiveError("volume group \(name) has tags [\(after.tags.joined(separator: ","))] after activation, not [\(me)]")
        case .systemID where after.systemID != me:
            throw PrimitiveError("volume group \(name) has system ID \(after.systemID) after activation, not \(me)")
        default: break
        }
        if let active = after.activeVolumes, active < after.logicalVolumes {
            throw PrimitiveError("volume group \(name): only \(active) of \(after.logicalVolumes) logical volumes are active")
        }
        if after.activeVolumes == nil {
            node.logger.notice("volume group \(name): LVM activation is off on this node (lvm.conf activation = 0); ownership checked only")
        }
    }

    /// Deactivates the VG and gives up this node's claim (its tag, or its
    /// system ID: the VG is left with none, for the next node's plain start
    /// to take). Absent or already inactive and unclaimed is success. A VG
    /// another node claims is left alone.
    public func deactivate(_ name: String, ownership: VGOwnership, timeout: Double) throws -> Outcome {
        guard let vg = try inspect(name, timeout: timeout) else { return .already }
        let me = ownership == .tags ? node.nodeName : try localSystemID(timeout: timeout)
        if ownership == .tags && !vg.tags.isEmpty && !vg.tags.contains(me) {
            node.logger.warning("volume group \(name) is tagged by \(vg.tags.joined(separator: ", ")), not by this node: left alone")
            return .already
        }
        if ownership == .systemID && !vg.systemID.isEmpty && vg.systemID != me {
            node.logger.warning("volume group \(name) has system ID \(vg.systemID), not this node's: left alone")
            return .already
        }
        let claimed = ownership == .tags ? vg.tags.contains(me) : !vg.systemID.isEmpty
        // No LV is active where LVM does not activate (activeVolumes is nil there).
        let active = vg.activeVolumes.map { $0 > 0 } ?? false
        guard active || claimed else { return .already }
        if active { try lvm(["vgchange", "-a", "n", name], timeout: timeout) }
        if claimed {
            try lvm(ownership == .tags ? ["vgchange", "--deltag", me, name] : ["vgchange", "-y", "--systemid", "", name], timeout: timeout)
        }
        guard !node.planning else { return .done }
        guard let after = try inspect(name, timeout: timeout) else { return .done }
        if let n = after.activeVolumes, n > 0 {
            throw PrimitiveError("volume group \(name) still has \(n) active logical volumes after deactivation")
        }
        if ownership == .tags && after.tags.contains(me) {
            throw PrimitiveError("volume group \(name) still carries this node's tag \(me)")
        }
        if ownership == .systemID && !after.systemID.isEmpty {
            throw PrimitiveError("volume group \(name) still has the system ID \(after.systemID)")
        }
        return .done
    }
}
