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
    case vgOwnership
    case fsckPolicy
    case timeout(String)  // one of StepTimeouts.names
    case arpCount, arpInterval, dadTimeout
    case ipInterface
    case nfsServer, ganeshaGracePeriod, ganeshaLeaseLifetime, ganeshaRecoveryDirectory, ganeshaStopTimeout
    case logFile
    /// The package's own hooks, loaded before every script after site.lua.
    case hooksFile
    /// A known attribute hanfs does not use (the cluster manager's own).
    case ignored
}

extension Field {
    /// The field's identity, for maps.
    var key: String { "\(self)" }

    /// For a field that holds one value (per file system or address, for
    /// theirs), the slot of that value; nil for lists and ignored attributes.
    func singleValueSlot(index: Int) -> Slot? {
        switch self {
        case .volumeGroup, .export, .ignored: return nil
        case .fsDevice, .fsDirectory, .fsType, .fsMountOptions, .fsUmountOptions, .fsFsckOptions, _ where isAddressField:
            return Slot(field: self, index: index)
        default: return Slot(field: self, index: 0)
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
        var address: String?
        var prefix: Int?
        var subnet: String?
        var interface: String?
        var source: Source
    }


    /// Where each single-valued attribute was set, by field and item: a
    /// second setting is an error naming both lines, never a silent winner.
    private var setAt: [Field.Slot: Source] = [:]

    /// Sets one attribute. `index` picks the file system or address for the
    /// per-item fields. A bad value is kept as an error, and reading goes on.
    public mutating func set(_ field: Field, _ value: String, attribute: String, index: Int = 0, at source: Source) {
        do throws(ConfigError) {
            _ = try Check.text(value, attribute, source, allowingTabs: true)
            if let key = field.singleValueSlot(index: index) {
                if let first = setAt[key] {
                    throw ConfigError(
                        source, attribute,
                        "set twice (first at \(first.file == source.file ? "line \(first.line)" : "\(first)")): remove one")
                }
                setAt[key] = source
                config.sources[field] = config.sources[field] ?? source
            }
            try apply(field, value, attribute: attribute, index: index, at: source)
        } catch {
            fail(error, field: field, index: index)
        }
    }

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


    private mutating func apply(_ field: Field, _ value: String, attribute a: String, index: Int, at s: Source)
        throws(ConfigError)
    {
        switch field {
        case .packageName:
            config.name = try Check.packageName(value, a, s)
            config.source = s
        case .volumeGroup:
            config.volumeGroups.append(VolumeGroup(name: try Check.vgName(value, a, s), source: s))
        case .fsDevice:
            let device = try Check.absolutePath(value, a, s)
            fileSystems[index, default: PartialFileSystem(source: s)].device = device
            fileSystems[index]!.source = s
        case .fsDirectory:
            fileSystems[index, default: PartialFileSystem(source: s)].directory = try Check.absolutePath(value, a, s)
        case .fsType:
            fileSystems[index, default: PartialFileSystem(source: s)].type = try Check.word(value, a, s)
        case .fsMountOptions:
            fileSystems[index, default: PartialFileSystem(source: s)].mountOptions = try Check.words(value, a, s)
        case .fsUmountOptions:
            fileSystems[index, default: PartialFileSystem(source: s)].umountOptions = try Check.words(value, a, s)
        case .fsFsckOptions:
            fileSystems[index, default: PartialFileSystem(source: s)].fsckOptions = try Check.words(value, a, s)
        case .ipSubnet:
            addresses[index, default: PartialAddress(source: s)].subnet = try Self.subnet(value, a, s)
        case .ipAddress:
            guard let (address, prefix) = IPAddress.parse(cidr: value.trimmingSpaces) else {
                throw ConfigError(s, a, "\"\(value)\" is not an IPv4 or IPv6 address")
            }
            addresses[index, default: PartialAddress(source: s)].address = address.description
            addresses[index]!.prefix = prefix
            addresses[index]!.source = s
        case .fsckConcurrency: config.fsckConcurrency = try Check.integer(value, a, s, minimum: 1)
        case .mountConcurrency: config.mountConcurrency = try Check.integer(value, a, s, minimum: 1)
        case .mountRetries: config.mountRetries = try Check.integer(value, a, s)
        case .umountRetries: config.umountRetries = try Check.integer(value, a, s)
        case .export: config.exports += try ExportSpec.exports(fromArguments: value, a, s)
        case .lockMigration: config.lockMigration.enabled = try Check.yesNo(value, a, s)
        case .holdingDirectory:
            config.lockMigration.holdingDirectory = try Check.absolutePath(value, a, s)
            config.lockMigration.source = s
        case .propagateInterval: config.lockMigration.propagateInterval = try Check.seconds(value, a, s)
        case .statmonWaitTime: config.lockMigration.statmonWaitTime = try Check.seconds(value, a, s)
        case .smDirectory: config.lockMigration.smDirectory = try Check.absolutePath(value, a, s)
        case .notifyRetryMinutes: config.lockMigration.notifyRetryMinutes = try Check.integer(value, a, s, minimum: 0)
        case .lockRestart:
            guard let r = LockRestart(rawValue: value.trimmingSpaces) else {
                throw ConfigError(s, a, "\"\(value)\": statd or lockd expected")
            }
            config.lockMigration.restart = r
        case .monitorInterval: config.monitor.interval = try Check.seconds(value, a, s)
        case .quotaMonitor: config.monitor.quota = try Check.yesNo(value, a, s)
        case .monitorRetries: config.monitor.retries = try Check.integer(value, a, s)
        case .maintenanceFile: config.monitor.maintenanceFile = try Check.absolutePath(value, a, s)
        case .monitorRun: config.monitor.run = try Check.yesNo(value, a, s)
        case .monitorProbe: config.monitor.probe = try Check.yesNo(value, a, s)
        case .monitorService:
            config.monitor.serviceName = value.trimmingSpaces
            config.monitor.run = !config.monitor.serviceName.isEmpty
        case .monitorServices:
            let known: Set<String> = ["rpcbind", "nfs", "mountd", "nlockmgr", "status", "rquotad"]
            let list = value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            if let bad = list.first(where: { !known.contains($0) }) {
                throw ConfigError(s, a, "unknown service \"\(bad)\"; known: \(known.sorted().joined(separator: ", "))")
            }
            config.monitor.services = list
        case .vgOwnership:
            guard let mode = VGOwnership(rawValue: value.trimmingSpaces) else {
                throw ConfigError(s, a, "\"\(value)\": tags or system_id expected")
            }
            config.vgOwnership = mode
        case .fsckPolicy:
            guard let policy = FsckPolicy(rawValue: value.trimmingSpaces.lowercased()) else {
                throw ConfigError(s, a, "\"\(value)\": auto, force or no expected")
            }
            config.fsckPolicy = policy
        case .timeout(let step): config.timeouts[step] = try Check.seconds(value, a, s)
        case .arpCount: config.arpCount = try Check.integer(value, a, s, minimum: 0)
        case .arpInterval: config.arpInterval = try Check.seconds(value, a, s)
        case .dadTimeout:
            guard let d = Double(value.trimmingSpaces), d >= 0, d.isFinite else {
                throw ConfigError(s, a, "\"\(value)\" is not a number of seconds (0 turns the probe off)")
            }
            config.dadTimeout = d
        case .ipInterface:
            addresses[index, default: PartialAddress(source: s)].interface = try Check.word(value, a, s)
        case .logFile: config.logFile = try Check.absolutePath(value, a, s)
        case .hooksFile: config.hooksFile = try Check.absolutePath(value, a, s)
        case .nfsServer:
            guard let server = NFSServer(rawValue: value.trimmingSpaces.lowercased()) else {
                throw ConfigError(s, a, "\"\(value)\": kernel or ganesha expected")
            }
            config.nfsServer = server
        case .ganeshaGracePeriod: config.ganesha.gracePeriod = try Check.seconds(value, a, s)
        case .ganeshaLeaseLifetime: config.ganesha.leaseLifetime = try Check.seconds(value, a, s)
        case .ganeshaStopTimeout: config.ganesha.stopTimeout = try Check.seconds(value, a, s)
        case .ganeshaRecoveryDirectory:
            config.ganesha.recoveryDirectory = try Check.absolutePath(value, a, s)
            config.ganesha.source = s
        case .ignored: break
        }
    }

    /// `192.0.2.0` or `192.0.2.0/24`.
    static func subnet(_ value: String, _ attribute: String, _ source: Source) throws(ConfigError) -> String {
        guard let (address, prefix) = IPAddress.parse(cidr: value.trimmingSpaces) else {
            throw ConfigError(source, attribute, "\"\(value)\" is not a subnet address")
        }
        return prefix.map { "\(address)/\($0)" } ?? address.description
    }

    /// Gathers the items and runs the package-wide checks. Throws every
    /// mistake found, in file order.
    public mutating func finish(defaultName: String? = nil) throws(ConfigErrors) -> PackageConfiguration {
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
                errors.append(ConfigError(ip.source, names(.ipAddress), "subnet \(ip.subnet ?? "") has no ip_address"))
                continue
            }
            config.addresses.append(
                PackageAddress(address: address, prefix: ip.prefix, interface: ip.interface, subnet: ip.subnet, source: ip.source))
        }
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
}
