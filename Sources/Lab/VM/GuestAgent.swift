import Foundation
import Primitives

/// hanfs's agent in a lab VM (`hanfs lab-agent`, started by the guest's
/// init): on the virtio-serial port `lab.agent` it says `READY <uptime>`,
/// then answers each request line, `{"id", "argv", "timeout"}`, with one
/// line, `{"id", "status", "signal", "stdout", "stderr", "duration",
/// "timed_out"}` (output in base64). Commands are argv arrays run by
/// hanfs's own runner, with their timeout; never a shell string.
public enum GuestAgent {
    public static let portName = "lab.agent"

    /// A reply, read on the host's side.
    struct Reply {
        let id: Int
        let result: CommandResult

        init?(_ line: String) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = object["id"] as? Int
            else { return nil }
            self.id = id
            let bytes = { (key: String) in (object[key] as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? [] }
            let termination: CommandResult.Termination =
                (object["signal"] as? Int).map { .signaled(Int32($0)) } ?? .exited(Int32(object["status"] as? Int ?? 255))
            result = CommandResult(
                termination: termination, stdout: bytes("stdout"), stderr: bytes("stderr"),
                duration: object["duration"] as? Double ?? 0, timedOut: object["timed_out"] as? Bool ?? false)
        }
    }

    /// Serves requests on the port until it goes away. Never returns normally.
    public static func serve() throws -> Never {
        let port = try findPort()
        let fd = open(port, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw LabError("cannot open \(port): \(String(cString: strerror(errno)))") }
        let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first ?? "?"
        send(fd, "READY \(uptime)")
        let runner = ProcessRunner()
        var buffered: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                // The host closed its end: wait for it to open again.
                usleep(200_000)
                continue
            }
            buffered += chunk[..<n]
            while let nl = buffered.firstIndex(of: 10) {
                let line = Data(buffered[..<nl])
                buffered.removeSubrange(...nl)
                guard let request = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let id = request["id"] as? Int,
                    let argv = request["argv"] as? [String], !argv.isEmpty
                else { continue }
                let timeout = request["timeout"] as? Double ?? 60
                var reply: [String: Any] = ["id": id]
                do {
                    let r = try runner.run(Command(argv, timeout: timeout))
                    switch r.termination {
                    case .exited(let code): reply["status"] = Int(code)
                    case .signaled(let signal): reply["signal"] = Int(signal)
                    }
                    reply["stdout"] = Data(r.stdout).base64EncodedString()
                    reply["stderr"] = Data(r.stderr).base64EncodedString()
                    reply["duration"] = r.duration
                    reply["timed_out"] = r.timedOut
                } catch {
                    reply["status"] = 127
                    reply["stderr"] = Data("\(error)\n".utf8).base64EncodedString()
                }
                if let data = try? JSONSerialization.data(withJSONObject: reply) { send(fd, String(decoding: data, as: UTF8.self)) }
            }
        }
    }

    static func send(_ fd: Int32, _ line: String) {
        let bytes = Array(line.utf8) + [10]
        var at = 0
        while at < bytes.count {
            let n = bytes[at...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            at += n
        }
    }

    /// The port's device, found by its name in sysfs.
    static func findPort() throws -> String {
        for _ in 0..<100 {
            let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/virtio-ports")) ?? []
            for p in ports {
                let name = (try? String(contentsOfFile: "/sys/class/virtio-ports/\(p)/name", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if name == portName, FileManager.default.fileExists(atPath: "/dev/\(p)") { return "/dev/\(p)" }
            }
            usleep(100_000)
        }
        throw LabError("no virtio-serial port named \(portName)")
    }
}
