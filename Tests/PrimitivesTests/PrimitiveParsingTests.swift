import Foundation
import Logging
import PackageConfig
import Primitives
import Synchronization
import TestSupport
import Testing

/// What the primitives read from the node, and how they run several at once.
@Suite struct PrimitiveParts {
    @Test func mountinfoLinesAndTheirEscapes() {
        let table = MountTable(entries: [
            "36 35 98:0 / /srv/nfs/a rw,noatime master:1 - ext4 /dev/loop3 rw",
            "37 36 98:1 / /srv/nfs/a/sub\\040dir rw shared:2 - xfs /dev/loop4 rw",
            "38 36 98:2 / /srv/nfs/ab rw - xfs /dev/loop5 rw",
            "39 37 0:5 / /srv/nfs/a/sub\\040dir/deeper rw - tmpfs tmpfs rw",
        ].compactMap { MountTable.parseLine($0) })
        #expect(table.mount(at: "/srv/nfs/a")?.device == "98:0")
        #expect(table.mount(at: "/srv/nfs/a/sub dir")?.source == "/dev/loop4")
        // Below /srv/nfs/a, deepest first; /srv/nfs/ab is not below it.
        #expect(table.mounts(below: "/srv/nfs/a").map(\.mountPoint) == ["/srv/nfs/a/sub dir/deeper", "/srv/nfs/a/sub dir"])
    }

    @Test func addressesAsIpListsThem() {
        let text = """
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
            6: v1@if5    inet 192.0.2.1/24 scope global v1\\       valid_lft forever preferred_lft forever
            6: v1@if5    inet 192.0.2.10/24 scope global secondary v1\\       valid_lft forever preferred_lft forever
            6: v1@if5    inet6 2001:db8::10/64 scope global tentative \\       valid_lft forever preferred_lft forever
            """
        let list = Addresses.parseList(text)
        #expect(list.count == 4)
        #expect(list[1] == InterfaceAddress(interface: "v1", address: "192.0.2.1", prefix: 24, flags: []))
        #expect(list[2].flags == ["secondary"])
        #expect(list[3].flags == ["tentative"] && list[3].address == "2001:db8::10")

        // Where an address goes: the interface with an address in its subnet.
        let node = NodeContext(runner: RecordingRunner(), logger: Logger(label: "test"), settings: NodeSettings(nodeName: "n1"))
        let a = Addresses(node, announcer: ["true"])
        let placed = try? a.placement(PackageAddress(address: IPAddress("192.0.2.20")!, source: Source(file: "", line: 0)), in: list)
        #expect(placed?.0 == "v1" && placed?.1 == 24)
        #expect(throws: PrimitiveError.self) {
            try a.placement(PackageAddress(address: IPAddress("198.51.100.7")!, source: Source(file: "", line: 0)), in: list)
        }
    }

    @Test func theClientsConnectionsFromProc() {
        let v4 = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:0801 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20001 1 0 100 0 0 10 0
               1: 0A0200C0:0801 640200C0:032C 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0 20 4 30 10 -1
               2: 0A0200C0:0801 650200C0:03FF 06 00000000:00000000 03:00000D8E 00000000     0        0 0 3 0
            """
        let v6 = """
               0: B80D0120000000000000000010000000:0801 B80D0120000000000000000064000000:B5C2 01 00000000:00000000 00:00000000 00000000     0        0 0 1
               1: 0000000000000000FFFF00000A0200C0:0801 0000000000000000FFFF0000640200C0:02F1 01 00000000:00000000 00:00000000 00000000     0        0 0 1
            """
        let list = ClientConnections.parse(procNetTCP: v4 + "\n" + v6)
        // Only ESTABLISHED; IPv4 peers of a dual-stack socket as IPv4.
        #expect(list.map(\.description) == [
            "192.0.2.10 2049 192.0.2.100 812", "2001:db8::10 2049 2001:db8::64 46530", "192.0.2.10 2049 192.0.2.100 753",
        ])
        // The same lines read for their listening sockets: the ports something listens on.
        #expect(ClientConnections.parse(procNetTCP: v4, state: "0A").map(\.serverPort) == [2049])
        // A line of the record reads back as the connection it says.
        #expect(list.allSatisfy { TCPConnection(line: Substring($0.description)) == $0 })
        #expect(TCPConnection(line: "192.0.2.10 2049 2001:db8::64 812") == nil)
        #expect(TCPConnection(line: "192.0.2.10 0 192.0.2.100 812") == nil)
        #expect(TCPConnection(line: "192.0.2.10 2049 192.0.2.100") == nil)
    }

    /// The tickle ACK: the ports, sequence and acknowledgement 0, only ACK set,
    /// one byte of data, and a checksum that sums to zero with its
    /// pseudo-header (IPv4 and IPv6).
    @Test(arguments: ["192.0.2.10 2049 192.0.2.100 812", "2001:db8::10 2049 2001:db8::64 46530"])
    func theTickleACK(_ line: String) throws {
        let c = try #require(TCPConnection(line: Substring(line)))
        let tcp = TickleAck.segment(c)
        #expect(tcp.count == 21)
        let ports: [UInt8] = [UInt8(c.serverPort >> 8), UInt8(c.serverPort & 0xff), UInt8(c.clientPort >> 8), UInt8(c.clientPort & 0xff)]
        #expect(Array(tcp[0..<4]) == ports)
        #expect(tcp[4..<12].allSatisfy { $0 == 0 })
        #expect(tcp[12] == 0x50 && tcp[13] == 0x10)
        let tail: [UInt8] = c.server.isIPv6 ? [0, 0, 0, 21, 0, 0, 0, 6] : [0, 6, 0, 21]
        let pseudo: [UInt8] = c.server.bytes + c.client.bytes + tail
        let all = pseudo + tcp + [0]  // padded to 16 bits
        var sum: UInt32 = 0
        for i in stride(from: 0, to: all.count, by: 2) { sum += UInt32(all[i]) << 8 | UInt32(all[i + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        #expect(sum == 0xffff)
    }

    @Test func theExportTable() throws {
        let scratch = try Scratch()
        let etab = try scratch.write("etab", """
            /srv/nfs/a\t*(rw,sync,wdelay,hide,no_subtree_check,fsid=101,sec=sys,rw,root_squash)
            /srv/nfs/b\\040x\t192.0.2.0/24(ro,fsid=102)

            """)
        let node = NodeContext(runner: RecordingRunner(), logger: Logger(label: "test"), settings: NodeSettings(nodeName: "n1"))
        let exports = Exports(node, table: etab, nfsdDirectory: scratch.path + "/none")
        let list = try exports.list()
        #expect(list.map(\.directory) == ["/srv/nfs/a", "/srv/nfs/b x"])
        #expect(list[1].clients == "192.0.2.0/24" && list[1].options == ["ro", "fsid=102"])
        // Exported already with those options: nothing is run.
        let e = Export(directory: "/srv/nfs/a", clients: "*", options: ["rw", "no_subtree_check"], fsid: .number(101), source: Source(file: "", line: 0))
        #expect(try exports.export(e, timeout: 5) == .already)
        #expect((node.runner as! RecordingRunner).commands.isEmpty)
    }

    @Test func anAbsentVolumeGroup() throws {
        let runner = RecordingRunner { command in
            command.argv[0] == "vgs" ? .exited(5, stderr: "  Volume group \"vgx\" not found\n") : .exited(0)
        }
        let vgs = VolumeGroups(NodeContext(runner: runner, logger: Logger(label: "test"), settings: NodeSettings(nodeName: "n1")))
        // Deactivating one that is not there is done already; activating it says why not.
        #expect(try vgs.deactivate("vgx", ownership: .tags, timeout: 5) == .already)
        // It only looked (LVM's activation setting, then the VG).
        #expect(runner.argvs.map { $0[0] } == ["lvmconfig", "vgs"])
        #expect(throws: PrimitiveError.self) { try vgs.activate("vgx", ownership: .tags, takeover: false, timeout: 5) }
    }

    @Test func parallelKeepsTheLimitAndTheOrder() {
        let running = Mutex((now: 0, most: 0, order: [Int]()))
        // 6 jobs, 3 at a time; job 4 waits for job 0 (its parent directory).
        let results = Parallel.run(count: 6, limit: 3, waitsFor: { $0 == 4 ? [0] : [] }) { i in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            usleep(i == 0 ? 100_000 : 20_000)
            running.withLock { $0.now -= 1; $0.order.append(i) }
            return i * 10
        }
        #expect(results == [0, 10, 20, 30, 40, 50])
        let r = running.withLock { $0 }
        #expect(r.most == 3)
        #expect(r.order.firstIndex(of: 4)! > r.order.firstIndex(of: 0)!)
    }

    @Test func usersOfADirectoryFoundInProc() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/d", withIntermediateDirectories: true)
        let child = try ProcessRunner().run(
            // sleep 47: other tests look for their own stray sleeps by their arguments.
            Command(["sh", "-c", "cd \(scratch.path)/d && exec sleep 47"], timeout: 30, background: true))
        _ = child
        var users: [ProcessUser] = []
        for _ in 0..<50 {
            users = ProcessUsers.find(mountPoint: scratch.path + "/d", device: nil)
            if !users.isEmpty { break }
            usleep(20_000)
        }
        #expect(users.count == 1)
        #expect(users.first?.command == "sleep" && users.first?.holds == ["cwd"])
        for u in users { kill(u.pid, SIGKILL) }
    }

    /// A process in another mount namespace whose working directory has the
    /// same path uses another mount (a copy): it is not a user, and a stop
    /// must not signal it.
    @Test(.enabled(if: getuid() == 0, "needs root: a mount namespace"))
    func aProcessInAnotherMountNamespaceIsNotAUser() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/d", withIntermediateDirectories: true)
        // sleep 48: other tests look for their own stray sleeps by their arguments.
        _ = try ProcessRunner().run(Command(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", "cd \(scratch.path)/d && exec sleep 48"], timeout: 30,
            background: true))
        var other: [Int32] = []
        for _ in 0..<50 where other.isEmpty {
            other = ProcessTable.matching { $0 == ["sleep", "48"] }.filter {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/cwd")) == scratch.path + "/d"
            }
            usleep(20_000)
        }
        defer { for pid in other { kill(pid, SIGKILL) } }
        #expect(other.count == 1, "the process in its own mount namespace did not start")
        #expect(ProcessUsers.find(mountPoint: scratch.path + "/d", device: nil).isEmpty)
    }
}

/// The servers' own words for their clients.
@Suite struct ClientInspection {
    @Test func theKernelsClientInfo() {
        let v4 = KernelServer.client("clientid: 0x6a1e3f2b65a1\naddress: \"192.0.2.100:876\"\nstatus: confirmed\nname: \"Linux NFSv4.2 client1\"\nminor version: 2\n")
        #expect(v4?.address == "192.0.2.100" && v4?.minorVersion == 2)
        #expect(KernelServer.client("address: \"[2001:db8::100]:876\"\nminor version: 0\n")?.address == "2001:db8::100")
        #expect(KernelServer.client("status: confirmed\n") == nil)
    }

    @Test func ganeshasShowClientsReply() {
        let reply = """
            method return time=1733300000.1 sender=:1.2 -> destination=:1.9 serial=12 reply_serial=2
               struct {
                  uint64 1733300000
                  uint64 123
               }
               array [
                  struct {
                     string "::ffff:192.0.2.100"
                     boolean true
                     boolean true
                  }
                  struct {
                     string "2001:db8::7"
                     boolean false
                  }
               ]
            """
        #expect(Ganesha.clientAddresses(reply) == ["192.0.2.100", "2001:db8::7"])
    }
}
