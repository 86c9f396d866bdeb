/// What the text formats (Serviceguard's modular package file, the legacy
/// hanfs.conf variables) set, attribute by attribute. One table of fields
/// serves both; each format only maps its names onto it.
public enum Field: Sendable, Hashable {
    case packageName
    case volumeGroup
    case fsDevice, fsDirectory, fsType, fsMountOptions, fsUmountOptions, fsFsckOptions
    case ipSubnet, ipAddress
    case fsckConcurrency, mountConcurrency, mountRetries, umountRetries
    case export  // XFS
    case lockMigration, holdingDirectory, propagateInterval, statmonWaitTime, smDirectory, notifyRetryMinutes, lockRestart
    case monitorInterval, quotaMonitor, monitorRetries, maintenanceFile, monitorServices, monitorRun, monitorProbe
    /// The legacy NFS_SERVICE_NAME: a name given means start runs the monitor.
    case monitorService
    case vgOwnership, vgActivationRetries, vgDeactivationRetries
    case syncMonitor, syncRestarts, nfsv4HoldingDirectory
    case lockdRetries, rpcbindRetries, netids, maintenanceFlag, toolkitDirectory, monitorServiceRestart
    /// An attribute taken only at the value that means what hanfs does (`Attributes.takenAsHanfsDoes`), by name.
    case accepted(String)
    case fsckPolicy
    case timeout(String)  // one of StepTimeouts.names
    case arpCount, arpInterval, dadTimeout, reconnectClients
    case ipInterface
    case nfsServer, ganeshaGracePeriod, ganeshaLeaseLifetime, ganeshaRecoveryDirectory, ganeshaStopTimeout
    case kernelManage, kernelThreads, kernelGraceTime, kernelNLMGraceTime, kernelLeaseTime, kernelScope, kernelRecoveryDirectory
    case logFile, syslog, syslogFacility, syslogIdentity
    /// The package's own hooks, loaded before every script after site.lua.
    case hooksFile
    /// A known attribute hanfs does not use (the cluster manager's own).
    case ignored
}

extension Field {
    /// For a field that holds one value (per file system or address, for
    /// theirs), the slot of that value; nil for lists and ignored attributes.
    func singleValueSlot(index: Int) -> Slot? {
        switch self {
        case .volumeGroup, .export, .ignored, .accepted: return nil
        case .fsDevice, .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions: return Slot(field: self, index: index)
        default: return Slot(field: self, index: isAddressField ? index : 0)
        }
    }

    /// One value's place: the field, and which file system or address.
    struct Slot: Hashable {
        let field: Field
        let index: Int
    }

    /// Fields of one package address (the index picks which).
    var isAddressField: Bool {
        switch self {
        case .ipAddress, .ipSubnet, .ipInterface: return true
        default: return false
        }
    }
}

/// Builds a configuration from (field, value, index) triples and checks it.
public struct ConfigBuilder {
    public private(set) var config = PackageConfiguration()
    /// File systems and addresses by index (legacy `FS[3]`, or the n-th
    /// fs_name in a modular file), kept apart until all are read.
    private var fileSystems: [Int: PartialFileSystem] = [:]
    private var addresses: [Int: PartialAddress] = [:]
    private var errors: [ConfigError] = []
    private var badFileSystems = Set<Int>()
    private var badAddresses = Set<Int>()
    private var badName = false

    /// What the format calls each field, for messages.
    let names: (Field) -> String

    public init(file: String, names: @escaping (Field) -> String) {
        self.names = names
        config.file = file
        config.source = Source(file: file, line: 0)
    }

    struct PartialFileSystem {
        var device: String?
        var directory: String?
        var type = ""
        var mountOptions: [String] = []
        var umountOptions: [String] = []
        var fsckOptions: [String] = []
        var source: Source
    }

    struct PartialAddress {
        var address: IPAddress?
        var prefix: Int?
        var subnet: Subnet?
        var interface: String?
        var source: Source
    }


    /// Where each single-valued attribute was set, by field and item: a
    /// second setting is an error naming both lines, never a silent winner.
    private var setAt: [Field.Slot: Source] = [:]

    /// Sets one attribute from a text format. `index` picks the file
    /// system or address for the per-item fields. A bad value is kept as an
    /// error, and reading goes on.
    public mutating func set(_ field: Field, _ value: String, attribute: String, index: Int = 0, at source: Source) {
        set(field, .text(value), attribute: attribute, index: index, at: source)
    }

    /// Sets one attribute from a value as its format gives it: text, or the
    /// native format's typed value, read by the attribute's kind.
    public mutating func set(_ field: Field, _ value: RawValue, attribute: String, index: Int = 0, at source: Source) {
        do throws(ConfigError) {
            if case .text(let text) = value { _ = try Check.text(text, attribute, source, allowingTabs: true) }
            if let key = field.singleValueSlot(index: index) {
                if let first = setAt[key] {
                    throw ConfigError(
                        source, attribute,
                        "set twice (first at \(first.file == source.file ? "line \(first.line)" : "\(first)")): remove one")
                }
                setAt[key] = source
                config.sources[field] = config.sources[field] ?? source
            }
            guard let kind = Attributes.attribute(field)?.kind else { return }  // ignored
            try store(field, try kind.read(value, attribute, source), index: index, at: source)
        } catch {
            fail(error, field: field, index: index)
        }
    }

    /// Exports read whole (the native format's `export{...}`).
    public mutating func add(_ exports: [Export]) { config.exports += exports }

    /// Records a mistake. With the field it concerns, the item (or the
    /// name) is not reported as incomplete as well.
    public mutating func fail(_ error: ConfigError, field: Field? = nil, index: Int = 0) {
        errors.append(error)
        if let field {
            switch field {
            case .fsDevice, .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions: badFileSystems.insert(index)
            case _ where field.isAddressField: badAddresses.insert(index)
            case .packageName: badName = true
            default: break
            }
        }
    }


    /// Puts a read value into the model.
    private mutating func store(_ field: Field, _ v: AttributeValue, index: Int, at s: Source) throws(ConfigError) {
        switch field {
        case .packageName:
            config.name = v.text
            config.source = s
        case .volumeGroup: config.volumeGroups.append(VolumeGroup(name: v.text, source: s))
        case .fsDevice:
            fileSystems[index, default: PartialFileSystem(source: s)].device = v.text
            fileSystems[index]!.source = s
        case .fsDirectory: fileSystems[index, default: PartialFileSystem(source: s)].directory = v.text
        case .fsType: fileSystems[index, default: PartialFileSystem(source: s)].type = v.text
        case .fsMountOptions: fileSystems[index, default: PartialFileSystem(source: s)].mountOptions = v.words
        case .fsUmountOptions: fileSystems[index, default: PartialFileSystem(source: s)].umountOptions = v.words
        case .fsFsckOptions: fileSystems[index, default: PartialFileSystem(source: s)].fsckOptions = v.words
        case .ipSubnet: addresses[index, default: PartialAddress(source: s)].subnet = v.subnet
        case .ipAddress:
            addresses[index, default: PartialAddress(source: s)].address = v.address?.0
            addresses[index]!.prefix = v.address?.1
            addresses[index]!.source = s
        case .ipInterface: addresses[index, default: PartialAddress(source: s)].interface = v.text
        default: try storeSetting(field, v, at: s)
        }
    }

    /// Puts a package-wide value into the model.
    private mutating func storeSetting(_ field: Field, _ v: AttributeValue, at s: Source) throws(ConfigError) {
        switch field {
        case .packageName, .volumeGroup, .fsDevice, .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions,
            .ipSubnet, .ipAddress, .ipInterface:
            preconditionFailure("an item's field")
        case .fsckConcurrency: config.fsckConcurrency = v.integer
        case .mountConcurrency: config.mountConcurrency = v.integer
        case .mountRetries: config.mountRetries = v.integer
        case .umountRetries: config.umountRetries = v.integer
        case .export: config.exports += v.exports
        case .lockMigration: config.lockMigration.enabled = v.flag
        case .holdingDirectory:
            config.lockMigration.holdingDirectory = v.text
            config.lockMigration.source = s
        case .propagateInterval: config.lockMigration.propagateInterval = v.number
        case .statmonWaitTime: config.lockMigration.statmonWaitTime = v.number
        case .smDirectory: config.lockMigration.smDirectory = v.text
        case .notifyRetryMinutes: config.lockMigration.notifyRetryMinutes = v.integer
        case .lockRestart: config.lockMigration.restart = LockRestart(rawValue: v.text)!
        case .monitorInterval: config.monitor.interval = v.number
        case .quotaMonitor: config.monitor.quota = v.flag
        case .monitorRetries: config.monitor.retries = v.integer
        case .maintenanceFile: config.monitor.maintenanceFile = v.text
        case .monitorRun: config.monitor.run = v.flag
        case .monitorProbe: config.monitor.probe = v.flag
        case .monitorService:
            config.monitor.serviceName = v.text
            config.monitor.run = !v.text.isEmpty
        case .monitorServices: config.monitor.services = v.words
        case .vgOwnership: config.vgOwnership = VGOwnership(rawValue: v.text)!
        case .vgActivationRetries: config.vgActivationRetries = v.integer
        case .vgDeactivationRetries: config.vgDeactivationRetries = v.integer
        case .syncMonitor: config.lockMigration.monitorSync = v.flag
        case .syncRestarts: config.lockMigration.syncRestarts = v.integer
        case .nfsv4HoldingDirectory:
            config.nfsv4HoldingDirectory = v.text
            config.sources[.nfsv4HoldingDirectory] = s
        case .lockdRetries: config.monitor.lockdRetries = v.integer
        case .rpcbindRetries: config.monitor.rpcbindRetries = v.integer
        case .netids: config.monitor.netids = v.words
        case .maintenanceFlag: config.monitor.maintenance = v.flag
        case .toolkitDirectory: config.toolkitDirectory = v.text
        case .monitorServiceRestart:
            let words = v.text.split(separator: " ").map(String.init)
            guard words.isEmpty || words == ["-R"] || words.count == 2 && words[0] == "-r" && (Int(words[1]) ?? -1) >= 0 else {
                throw ConfigError(s, names(field), "\"\(v.text)\": -r N (restarts) or -R (unlimited) expected")
            }
            config.monitor.serviceRestart = words
        case .accepted: break
        case .fsckPolicy: config.fsckPolicy = FsckPolicy(rawValue: v.text)!
        case .timeout(let step): config.timeouts[step] = v.number
        case .arpCount: config.arpCount = v.integer
        case .arpInterval: config.arpInterval = v.number
        case .dadTimeout: config.dadTimeout = v.number
        case .reconnectClients: config.reconnectClients = v.flag
        case .logFile: config.logFile = v.text
        case .syslog: config.syslog = v.flag
        case .syslogFacility: config.syslogFacility = v.text
        case .syslogIdentity: config.syslogIdentity = v.text
        case .hooksFile: config.hooksFile = v.text
        case .nfsServer: config.nfsServer = NFSServer(rawValue: v.text)!
        case .ganeshaGracePeriod: config.ganesha.gracePeriod = v.number
        case .ganeshaLeaseLifetime: config.ganesha.leaseLifetime = v.number
        case .ganeshaStopTimeout: config.ganesha.stopTimeout = v.number
        case .ganeshaRecoveryDirectory:
            config.ganesha.recoveryDirectory = v.text
            config.ganesha.source = s
        case .kernelManage: config.kernel.manage = v.flag
        case .kernelThreads: config.kernel.threads = v.integer
        case .kernelGraceTime: config.kernel.graceTime = v.number
        case .kernelNLMGraceTime: config.kernel.nlmGraceTime = v.number
        case .kernelLeaseTime: config.kernel.leaseTime = v.number
        case .kernelScope: config.kernel.scope = v.text
        case .kernelRecoveryDirectory:
            config.kernel.recoveryDirectory = v.text
            config.kernel.source = s
        case .ignored: break
        }
    }

    /// Gathers the items and runs the package-wide checks. Throws every
    /// mistake found, in file order.
    public mutating func finish(defaultName: String? = nil) throws(ConfigErrors) -> PackageConfiguration {
        gatherItems()
        if config.name.isEmpty, let defaultName {
            config.name = defaultName
        }
        // A name that was there but wrong is not also missing.
        errors += Validation.check(config, names: names).filter { !(badName && $0.attribute == names(.packageName)) }
        guard errors.isEmpty else {
            throw ConfigErrors(errors.sorted { ($0.source.file, $0.source.line) < ($1.source.file, $1.source.line) })
        }
        return config
    }

    /// One file system or address alone, as a script hands it to a
    /// primitive: its fields read and checked as a package file's are, with
    /// no package around it. The first mistake is thrown.
    public static func item<T>(
        _ fields: [(Field, RawValue, String)], at source: Source, names: @escaping (Field) -> String,
        _ pick: (PackageConfiguration) -> T?
    ) throws(ConfigError) -> T {
        var b = ConfigBuilder(file: source.file, names: names)
        for (field, value, attribute) in fields { b.set(field, value, attribute: attribute, at: source) }
        b.gatherItems()
        if let error = b.errors.first { throw error }
        guard let item = pick(b.config) else { throw ConfigError(source, "", "incomplete") }
        return item
    }

    /// The file systems and addresses, from their fields.
    private mutating func gatherItems() {
        for (index, fs) in fileSystems.sorted(by: { $0.key < $1.key }) where !badFileSystems.contains(index) {
            guard let device = fs.device else {
                errors.append(ConfigError(fs.source, names(.fsDevice), "a file system without a device (fs_name)"))
                continue
            }
            guard let directory = fs.directory else {
                errors.append(ConfigError(fs.source, names(.fsDirectory), "file system \(device) has no mount point"))
                continue
            }
            config.fileSystems.append(
                FileSystem(
                    device: device, directory: directory, type: fs.type, mountOptions: fs.mountOptions,
                    umountOptions: fs.umountOptions, fsckOptions: fs.fsckOptions, source: fs.source))
        }
        for (index, ip) in addresses.sorted(by: { $0.key < $1.key }) where !badAddresses.contains(index) {
            guard let address = ip.address else {
                errors.append(ConfigError(ip.source, names(.ipAddress), "subnet \(ip.subnet.map(\.description) ?? "") has no ip_address"))
                continue
            }
            config.addresses.append(
                PackageAddress(address: address, prefix: ip.prefix, interface: ip.interface, subnet: ip.subnet, source: ip.source))
        }
    }
}
