import Foundation
import Primitives

/// One qemu VM running Debian's kernel (TCG: KVM does not run it on these
/// machines), its root this machine's own (see Initramfs), with hanfs's
/// guest agent on a virtio-serial port: commands go in as argv arrays and
/// come back with their exit status, output and duration, one JSON line
/// each way (`GuestAgent`).
public final class VirtualMachine: @unchecked Sendable {
    public let dir: String
    /// What it boots (nil for one attached to, running already).
    public let kernel: KernelImage?
    /// The hanfs binary the guest runs as its agent (this machine's, seen through 9p).
    public let agent: String
    public let memory: String
    public let cpus: Int
    private var input: Int32 = -1
    private var output: Int32 = -1
    private var buffered: [UInt8] = []
    private var nextID = 0

    public init(dir: String, kernel: KernelImage, agent: String, memory: String = "2G", cpus: Int = 2) {
        self.dir = dir
        self.kernel = kernel
        self.agent = agent
        self.memory = memory
        self.cpus = cpus
    }

    /// The VM of `dir`, running already (booted by another hanfs): its agent's pipes opened again.
    public init(attachingTo dir: String) throws {
        self.dir = dir
        kernel = nil
        agent = ""
        memory = ""
        cpus = 0
        guard let pid, kill(pid, 0) == 0 else { throw LabError("no VM runs in \(dir)") }
        try openPipes()
    }

    private func openPipes() throws {
        input = open("\(dir)/agent.in", O_WRONLY | O_CLOEXEC)
        output = open("\(dir)/agent.out", O_RDONLY | O_CLOEXEC)
        guard input >= 0, output >= 0 else { throw LabError("cannot open the agent's pipes in \(dir)") }
    }

    var pidFile: String { "\(dir)/qemu.pid" }
    public var console: String { "\(dir)/console.log" }
    public var pid: Int32? {
        (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The qemu command line.
    var argv: [String] {
        guard let kernel else { return [] }
        return [
            "qemu-system-x86_64", "-name", "hanfs-lab", "-machine", "q35", "-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max",
            "-smp", String(cpus), "-m", memory, "-display", "none", "-no-reboot", "-nodefaults",
            "-kernel", kernel.vmlinux, "-initrd", kernel.initramfs,
            "-append", "console=ttyS0 quiet panic=-1 lab.agent=\(agent)",
            "-serial", "file:\(console)",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-serial-pci", "-chardev", "pipe,id=agent,path=\(dir)/agent",
            "-device", "virtserialport,chardev=agent,name=\(GuestAgent.portName)",
            "-pidfile", pidFile, "-daemonize",
        ]
    }

    /// Starts qemu and waits until the guest agent says it is ready.
    /// Returns the seconds from qemu's start.
    @discardableResult
    public func boot(within timeout: Double = 120) throws -> Double {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["agent.in", "agent.out", "console.log", "qemu.pid"] { try? fm.removeItem(atPath: "\(dir)/\(f)") }
        for f in ["agent.in", "agent.out"] where mkfifo("\(dir)/\(f)", 0o600) != 0 {
            throw LabError("mkfifo \(dir)/\(f): \(String(cString: strerror(errno)))")
        }
        let t0 = Monotonic.now()
        guard kernel != nil else { throw LabError("a VM attached to is booted already") }
        try LabSite.run(Command(argv, timeout: 60))
        try openPipes()
        while true {
            guard let line = try readLine(until: t0 + timeout) else {
                let tail = ((try? String(contentsOfFile: console, encoding: .utf8)) ?? "").split(separator: "\n").suffix(8)
                throw LabError("the VM's agent was not ready within \(Int(timeout)) s; its console ended with:\n" + tail.joined(separator: "\n"))
            }
            if line.hasPrefix("READY") { return Monotonic.now() - t0 }
        }
    }

    /// Runs a command in the guest; its result as the guest saw it. One
    /// request at a time per VM, also from several hanfs processes (a lock
    /// file), each request's id its own (a reply left by a process that
    /// gave up is never taken for another's).
    public func run(_ argv: [String], timeout: Double = 60) throws -> CommandResult {
        let lock = open("\(dir)/agent.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw LabError("cannot open \(dir)/agent.lock") }
        defer { Glibc.close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        nextID += 1
        let id = Int(getpid()) << 20 | nextID
        let request = try JSONSerialization.data(withJSONObject: ["id": id, "argv": argv, "timeout": timeout])
        let bytes = Array(request) + [10]
        guard bytes.withUnsafeBytes({ write(input, $0.baseAddress, $0.count) }) == bytes.count else {
            throw LabError("the VM's agent is gone (\(console))")
        }
        let until = Monotonic.now() + timeout + 10
        while let line = try readLine(until: until) {
            guard let reply = GuestAgent.Reply(line), reply.id == id else { continue }
            return reply.result
        }
        throw LabError("no answer from the VM's agent to \(argv.joined(separator: " ")) within \(Int(timeout + 10)) s")
    }

    /// The next line from the agent, or nil at the deadline.
    private func readLine(until deadline: Double) throws -> String? {
        while true {
            if let nl = buffered.firstIndex(of: 10) {
                let line = String(decoding: buffered[..<nl], as: UTF8.self)
                buffered.removeSubrange(...nl)
                return line
            }
            let left = deadline - Monotonic.now()
            guard left > 0 else { return nil }
            var p = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(min(left, 1) * 1000)) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(output, &chunk, chunk.count)
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                throw LabError("the VM's agent closed its port (\(console))")
            }
            buffered += chunk[..<n]
        }
    }

    /// Lets go of the agent's pipes; the VM runs on.
    public func close() {
        if input >= 0 { Glibc.close(input) }
        if output >= 0 { Glibc.close(output) }
        input = -1
        output = -1
    }

    /// Ends qemu (the guest's disks are its tmpfs: nothing to save).
    public func powerOff() {
        close()
        Self.powerOff(dir: dir)
    }

    /// Ends the qemu of a VM directory, also one whose process is gone, and removes the directory.
    public static func powerOff(dir: String) {
        let pid = (try? String(contentsOfFile: "\(dir)/qemu.pid", encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Only a qemu: a pid file left long ago may name another process by now.
        if let pid, ProcessTable.matching({ $0.first?.hasSuffix("qemu-system-x86_64") ?? false }).contains(pid) {
            kill(pid, SIGKILL)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
