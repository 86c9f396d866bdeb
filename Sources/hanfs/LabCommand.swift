import ArgumentParser
import Foundation
import HostBindings
import Lab
import PackageConfig
import Primitives

/// `hanfs lab`: two cluster nodes and a client on this machine, as root,
/// and the failover between them as a cluster manager would do it.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Two nodes and a client on this machine: up, failover, crash, status, down.",
        discussion: """
            up builds two cluster nodes and a client, each a network namespace with \
            its own mount and UTS namespaces, joined by a bridge in a namespace of its own \
            (192.0.2.0/24 only inside); a loop-backed shared disk with LVM metadata \
            and an ext4 file system; rpcbind and rpc.statd on each host; a package \
            with NFS-Ganesha, one export, the address 192.0.2.10 and lock migration. \
            With --manager pacemaker (the default) the nodes form a Corosync + \
            Pacemaker cluster with a fence device each (fence_hanfs_lab), and the \
            package is the resource ocf:hanfs:package, started on node1; with \
            --manager none hanfs lab itself starts and moves it. \
            failover moves the package to the other node (crm_resource --move) \
            while the client reads over NFSv3 and NFSv4, and prints a timeline: the \
            cluster's milestones, hanfs's steps, and the outage as the client saw it. \
            crash [NODE] powers off the node that runs the package (its link down, every \
            process killed, its disks left as they were, exactly what its fence device \
            does), waits until the cluster has fenced it and runs the package on the \
            other node, boots the dead node again, waits until it has rejoined, and \
            prints the same timeline with what a writing client saw; crash NODE of the \
            node that runs nothing powers it off and on and checks that nothing \
            changes. exec NODE [--] COMMAND... runs a command inside a node's namespaces \
            (crm_mon -1, hanfs status; NODE may be client). down removes everything, also after a crash half-way. \
            Files: $HANFS_LAB_DIR (/var/tmp/hanfs-lab); each node's /var/log is \
            log/NODE there.
            """)

    @Argument(help: "up, failover, crash, status, exec or down.") var action: String
    @Option(help: "up: who decides where the package runs: pacemaker or none.") var manager: String = "pacemaker"
    @Flag(help: "up: the kernel NFS lab, in a qemu VM running Debian's kernel: the kernel's nfsd, NFS client and device-mapper.")
    var kernel = false
    @Option(help: .hidden) var server: String = "ganesha"
    @Flag(help: "failover, crash (the kernel lab): first a second NFSv4.2 client mounts and dies, on the server's record: the grace period runs its whole length.")
    var deadClient = false
    @Option(help: "NFS-Ganesha's grace period and lease, in seconds (up).") var grace: Int = 5
    @Option(help: "up --kernel: lockd's grace period, in seconds (default: the grace period).") var nlmGrace: Int?
    @Option(help: "up --kernel: how the package owns its volume group: tags (host tags) or system_id (LVM system IDs).")
    var vgOwnership: String = "tags"
    @Option(help: "Failovers or crashes in a row (failover, crash).") var count: Int = 1
    @Argument(help: "crash: the node to power off (default: the one that runs the package); exec: the node.") var node: String?
    @Argument(help: "exec: the command (after --, when it has options).") var command: [String] = []

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the lab needs root (namespaces, loop devices, mounts)") }
        guard let ownership = VGOwnership(rawValue: vgOwnership) else { throw ValidationError("--vg-ownership: tags or system_id") }
        let lab = TwoNodeLab(hanfs: ScriptHost.hanfsBinary, grace: grace, nlmGrace: nlmGrace, vgOwnership: ownership)
        let say = { (line: String) in Console.write(line.hasSuffix("\n") ? line : line + "\n", to: .standardOutput) }
        if let node, !TwoNodeLab.nodes.contains(node) && !(action == "exec" && node == "client") {
            throw ValidationError("\(node): node1 or node2\(action == "exec" ? " (or client)" : "")")
        }
        do {
            // The kernel NFS lab runs in its VM: every command but down is run there.
            let vm = VMLab(dir: lab.dir, hanfs: ScriptHost.hanfsBinary)
            if VMLab.exists(in: lab.dir) && action != "down" && !(action == "up" && kernel) {
                var arguments = [action, "--grace", String(grace), "--count", String(count)] + (node.map { [$0] } ?? [])
                    + (deadClient ? ["--dead-client"] : [])
                if !command.isEmpty { arguments += ["--"] + command }
                let r = try vm.forward(arguments)
                Console.write(r.stdoutText, to: .standardOutput)
                Console.write(r.stderrText, to: .standardError)
                if !r.succeeded { throw ExitCode(r.exitCode ?? ExitStatus.failure) }
                return
            }
            switch action {
            case "up":
                guard let manager = ClusterManager(rawValue: manager) else { throw ValidationError("--manager: pacemaker or none") }
                guard let server = LabServer(rawValue: server) else { throw ValidationError("--server: ganesha or kernel") }
                if kernel {
                    try vm.up(manager: manager, grace: grace, nlmGrace: nlmGrace, vgOwnership: ownership, log: say)
                } else {
                    try lab.up(manager: manager, server: server, log: say)
                }
            case "failover":
                for _ in 0..<max(1, count) { _ = try lab.failover(deadClient: deadClient, log: say) }
            case "crash":
                if let node, node != lab.runningOn() {
                    _ = try lab.crashIdle(log: say)
                } else {
                    for _ in 0..<max(1, count) { _ = try lab.crash(deadClient: deadClient, log: say) }
                }
            case "status":
                guard let node = lab.runningOn() else {
                    say("package \(TwoNodeLab.package) runs on no node\(FileManager.default.fileExists(atPath: lab.dir) ? "" : " (the lab is down)")")
                    return
                }
                say("package \(TwoNodeLab.package) runs on \(node)")
                say(try lab.hanfs(node, "status").stdoutText)
            case "exec":
                guard let node, !command.isEmpty else { throw ValidationError("exec NODE [--] COMMAND...") }
                guard lab.isUp else { throw LabError("the lab is not up (\(lab.dir)): hanfs lab up first") }
                let r = try lab.on(node, command, timeout: 600, check: false)
                Console.write(r.stdoutText, to: .standardOutput)
                Console.write(r.stderrText, to: .standardError)
                throw ExitCode(r.exitCode ?? 128 + 9)
            case "down": lab.down(log: say)
            default: throw ValidationError("\(action): up, failover, crash, status, exec or down")
            }
        } catch let error as LabError {
            Console.write("hanfs lab: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// The lab's client, run in the client's namespaces by `hanfs lab
/// failover`: file handles kept across the failover, and an NLM lock.
struct LabClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab-client", abstract: "The lab's NFS client (used by hanfs lab).", shouldDisplay: false)

    @Argument(help: "handles, check, lock or write.") var action: String
    @Option var server = "192.0.2.10"
    @Option var name = "client1"
    @Option var export = "/srv/nfs/share"
    @Option var file = "hello.txt"
    @Option var v3: String?
    @Option var v4: String?
    @Flag var reclaim = false
    /// write: where each acknowledged record's number and time go.
    @Option var acks: String?

    func run() throws {
        let client = NFSClient(server: server, name: name)
        do {
            switch action {
            case "handles":
                let v3 = try client.lookup3(try client.mount(export), file)
                let v4 = try client.handle4("\(export)/\(file)")
                print("v3 \(v3.hex)\nv4 \(v4.hex)")
            case "check":
                guard let v3 = v3.flatMap([UInt8].init(hex:)), let v4 = v4.flatMap([UInt8].init(hex:)) else {
                    throw ValidationError("--v3 and --v4: the handles, in hex")
                }
                let data = try client.read3(v3)
                print("v3 read \(data.count) bytes: \(String(decoding: data, as: UTF8.self).split(separator: "\n").first ?? "")")
                print("v4 size \(try client.getattr4(v4))")
            case "lock":
                guard let v3 = v3.flatMap([UInt8].init(hex:)) else { throw ValidationError("--v3: the handle, in hex") }
                print(NFSClient.nlmStatus(try client.lock(v3, reclaim: reclaim)))
            case "write":
                guard let v3 = v3.flatMap([UInt8].init(hex:)), let acks else { throw ValidationError("--v3 and --acks") }
                try write(client, v3, acks: acks)
            case "append":
                guard let acks else { throw ValidationError("--file and --acks") }
                try append(file, acks: acks)
            case "hold": try hold(file)
            case "read":
                guard let acks else { throw ValidationError("--file and --acks") }
                try read(file, acks: acks)
            default: throw ValidationError("\(action): handles, check, lock, write, append or hold")
            }
        } catch let e as NFSClient.Failure {
            Console.write("hanfs lab-client: \(e)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        } catch let e as RPCPing.Failure {
            Console.write("hanfs lab-client: \(e)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }

    /// On a kernel mount, until it is killed: a record every 20 ms written at
    /// its place in `path` and fsynced, each tried again until both succeed
    /// (a failure is printed: a hard mount should have none); each one
    /// acknowledged is appended to `acks` as its number and the monotonic time.
    func append(_ path: String, acks: String) throws {
        let ackFD = open(acks, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard ackFD >= 0 else { throw ValidationError("cannot open \(acks)") }
        var fd: Int32 = -1
        var n = 0
        while true {
            let record = NFSClient.record(n)
            while true {
                if fd < 0 { fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
                let ok = fd >= 0 && record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(n * record.count)) } == record.count
                    && fsync(fd) == 0
                if ok { break }
                Console.write("record \(n): error: \(String(cString: strerror(errno)))\n", to: .standardOutput)
                if fd >= 0 { close(fd) }
                fd = -1
                usleep(20_000)
            }
            let line = "\(n) \(Monotonic.now())\n"
            _ = line.withCString { Glibc.write(ackFD, $0, strlen($0)) }
            n += 1
            usleep(20_000)
        }
    }

    /// On a kernel mount, until it is killed: `path` opened, read whole and
    /// closed every 20 ms, past the client's cache (O_DIRECT: each read asks
    /// the server, also under an NFSv4 delegation), each
    /// read that gives what the first one gave appended to `acks` as its
    /// number and the monotonic time; any other is printed.
    func read(_ path: String, acks: String) throws {
        let ackFD = open(acks, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard ackFD >= 0 else { throw ValidationError("cannot open \(acks)") }
        var expected: [UInt8]?
        var n = 0
        while true {
            var data: [UInt8] = []
            var failure: String?
            let fd = open(path, O_RDONLY | O_CLOEXEC | FileSystemProbe.directIO)
            if fd < 0 {
                failure = String(cString: strerror(errno))
            } else {
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let got = Glibc.read(fd, &chunk, chunk.count)
                    if got < 0 { failure = String(cString: strerror(errno)) }
                    if got <= 0 { break }
                    data += chunk[..<got]
                }
                close(fd)
            }
            if failure == nil, expected == nil { expected = data }
            if let failure {
                Console.write("read \(n): error: \(failure)\n", to: .standardOutput)
            } else if data != expected {
                Console.write("read \(n): error: \(data.count) bytes, not what the first read gave\n", to: .standardOutput)
            } else {
                let line = "\(n) \(Monotonic.now())\n"
                _ = line.withCString { Glibc.write(ackFD, $0, strlen($0)) }
            }
            n += 1
            usleep(20_000)
        }
    }

    /// Takes a write lock on the whole of `path` (waiting for it), says
    /// `held`, and keeps it until killed: across a failover, the kernel's
    /// client reclaims it (NLM over NFSv3, NFSv4's own over NFSv4).
    func hold(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        while fcntl(fd, F_SETLKW, &lock) != 0 {
            Console.write("lock: error: \(String(cString: strerror(errno)))\n", to: .standardOutput)
            sleep(1)
        }
        // When, on the kernel log's clock (seconds since boot).
        let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first ?? "?"
        Console.write("held at \(uptime)\n", to: .standardOutput)
        while true { pause() }
    }

    /// Until it is killed: a record every 20 ms, each written with FILE_SYNC
    /// and tried again (a new connection every 0.25 s) until the server
    /// acknowledges it, as a hard mount does; each acknowledged one is
    /// appended to `acks` as its number and the monotonic time.
    func write(_ client: NFSClient, _ fh: [UInt8], acks: String) throws {
        var client = client
        client.timeout = 0.25
        let fd = open(acks, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot open \(acks)") }
        var n = 0
        while true {
            let record = NFSClient.record(n)
            while (try? client.write3(fh, offset: UInt64(n * record.count), record)) == nil { usleep(20_000) }
            let line = "\(n) \(Monotonic.now())\n"
            _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
            n += 1
            usleep(20_000)
        }
    }
}

/// hanfs's agent in a lab VM, started by the guest's init: commands from
/// the host over the virtio-serial port `lab.agent` (see GuestAgent).
struct LabAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab-agent", abstract: "The lab VM's command agent (run by the guest's init).", shouldDisplay: false)

    func run() throws {
        do {
            try GuestAgent.serve()
        } catch let error as LabError {
            Console.write("hanfs lab-agent: \(error)\n", to: .standardError)
            throw ExitCode(ExitStatus.failure)
        }
    }
}
