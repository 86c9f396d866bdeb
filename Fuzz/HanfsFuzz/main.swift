// hanfs-fuzz: seeded fuzzing of what hanfs reads from people and runs from
// sites. Deterministic for a seed, so a failure is replayed by its seed.
//
//   hanfs-fuzz packages --seconds N [--seed S] [--corpus DIR]
//       Mutates the package files of DIR (default Fuzz/corpus/packages) and
//       loads each in all three formats' parsers and validation, in worker
//       processes (a native package file may hold a looping finalizer, which
//       the watchdog ends with its process, as designed). Fails on a crash,
//       an input that takes over 30 s, or a message that does not name the
//       file (and its line, unless it is about the whole file), spans lines
//       or carries a control character.
//
//   hanfs-fuzz lua --seconds N [--seed S] [--corpus DIR]
//       Splices the snippets of DIR (default Fuzz/corpus/lua), with sizes
//       around the boundary's limits, into scripts run through the real host
//       (its primitives planning only: nothing runs) under a deadline and a
//       memory limit, in worker processes. Fails on a crash (a signal), a
//       worker that outlives its deadline and the watchdog's grace, or a
//       state left unusable. A worker ended by the watchdog is what the
//       watchdog is for: counted, not a failure.
//
// Each prints its figures (executions, corpus, distinct messages) and the
// plain closing line `N passed, N failed`.
import Foundation
import HostBindings
import LuaRuntime
import PackageConfig
import Primitives

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Options {
    var mode = ""
    var seconds = 10.0
    var seed: UInt64 = UInt64(time(nil))
    var corpus: String?
    var count = 100
    var out = ""
    var slow = false

    init(_ arguments: [String]) {
        var args = arguments[...]
        mode = args.popFirst() ?? ""
        while let a = args.popFirst() {
            let value = args.popFirst() ?? ""
            switch a {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--seed": seed = UInt64(value) ?? seed
            case "--corpus": corpus = value
            case "--count": count = Int(value) ?? count
            case "--out": out = value
            case "--slow": slow = value == "1"
            default: fail("unknown option \(a)")
            }
        }
    }
}

/// A line on stdout, written at once: a worker the watchdog ends keeps what it said.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("hanfs-fuzz: \(message)\n".utf8))
    exit(2)
}

/// The repository's Fuzz/corpus, found from the binary (.build/<config>/hanfs-fuzz) or the working directory.
func defaultCorpus(_ kind: String) -> String {
    let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
    for base in [exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path,
                 FileManager.default.currentDirectoryPath] {
        let dir = "\(base)/Fuzz/corpus/\(kind)"
        if FileManager.default.fileExists(atPath: dir) { return dir }
    }
    fail("no Fuzz/corpus/\(kind) found: give --corpus")
}

/// Every file below `dir`, by path relative to it, with its bytes.
func seeds(_ dir: String) -> [(String, [UInt8])] {
    let items = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
    return items.compactMap { rel in
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: "\(dir)/\(rel)", isDirectory: &isDir), !isDir.boolValue,
            let data = FileManager.default.contents(atPath: "\(dir)/\(rel)")
        else { return nil }
        return (rel, Array(data))
    }
}

/// Ends the process if one input runs past `limit` seconds: a hang.
final class HangGuard: @unchecked Sendable {
    private let lock = NSLock()
    private var started: Double?
    private var input: [UInt8] = []
    let limit: Double
    let report: String

    init(limit: Double, report: String) {
        self.limit = limit
        self.report = report
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                lock.lock()
                let hung = started.map { now() - $0 > limit } ?? false
                let bytes = input
                lock.unlock()
                if hung {
                    FileManager.default.createFile(atPath: report, contents: Data(bytes))
                    FileHandle.standardError.write(Data("hanfs-fuzz: an input ran past \(limit) s: kept in \(report)\n".utf8))
                    exit(3)
                }
            }
        }
    }

    func begin(_ bytes: [UInt8]) { lock.withLock { started = now(); input = bytes } }
    func end() { lock.withLock { started = nil } }
}

// MARK: - package files

enum PackageFuzz {
    static let tokens: [[UInt8]] = [
        [0], [0x0D], [0x0D, 0x0A], [0x0A], [0x09], [0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80],
        Array("\u{301}".utf8), Array("\u{202E}".utf8), Array("\u{FEFF}".utf8), Array("\u{1B}[2J".utf8),
        Array("\"".utf8), Array("'".utf8), Array("#".utf8), Array("$HOME".utf8), Array("`id`".utf8), Array(" ".utf8),
        Array("/".utf8), Array("/../".utf8), Array("=".utf8), Array("[0]".utf8), Array("[99999999999999999999]".utf8),
        Array("{".utf8), Array("}".utf8), Array("\\".utf8), Array(",".utf8), Array(":".utf8), Array("-o".utf8),
        Array("fsid=".utf8), Array("-1".utf8), Array("0".utf8), Array("1e400".utf8), Array("nan".utf8), Array("inf".utf8),
        Array("99999999999999999999".utf8), Array("::".utf8), Array("/128".utf8), Array("0x10".utf8),
        Array(String(repeating: "a", count: 300).utf8), Array("\u{E9}".utf8), Array("e\u{301}".utf8),
        Array("package_name".utf8), Array("LOCK_MIGRATION".utf8), Array("fs_directory".utf8), Array("XFS".utf8),
        Array("nfs_server ganesha\n".utf8), Array("ganesha_grace_period 181\n".utf8), Array("script_log_file /etc/passwd\n".utf8),
        Array("while true do end".utf8), Array("string.rep('x', 1 << 30)".utf8), Array("setmetatable({}, {__gc = function() while true do end end})".utf8),
        Array("package { name = 'x' }".utf8), Array("filesystem {}".utf8), Array("vg(nil)".utf8), Array("export { fsid = {} }".utf8),
    ]

    /// How many lines a file has as its reader counts them: Lua ends a line
    /// at LF, CR, CR LF or LF CR; the text formats at LF only.
    static func lineCount(_ bytes: [UInt8], lua: Bool) -> Int {
        guard lua else { return lines(bytes).count }
        var count = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0A || b == 0x0D {
                count += 1
                if i + 1 < bytes.count, bytes[i + 1] == (b == 0x0A ? 0x0D : 0x0A) { i += 1 }
            }
            i += 1
        }
        return count
    }

    static func lines(_ bytes: [UInt8]) -> [[UInt8]] { bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init) }
    static func join(_ lines: [[UInt8]]) -> [UInt8] { Array(lines.joined(separator: [0x0A])) }

    static func mutate(_ input: [UInt8], _ others: [[UInt8]], _ r: inout Random) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + r.below(3)) {
            switch r.below(9) {
            case 0 where !bytes.isEmpty:
                bytes[r.below(bytes.count)] = UInt8(truncatingIfNeeded: r.next())
            case 1:
                bytes.insert(contentsOf: r.pick(tokens), at: r.below(bytes.count + 1))
            case 2:
                var ls = lines(bytes)
                let i = r.below(ls.count)
                ls.insert(ls[i], at: r.below(ls.count + 1))
                bytes = join(ls)
            case 3:
                var ls = lines(bytes)
                if ls.count > 1 { ls.remove(at: r.below(ls.count)) }
                bytes = join(ls)
            case 4:
                var ls = lines(bytes)
                let a = r.below(ls.count), b = r.below(ls.count)
                ls.swapAt(a, b)
                bytes = join(ls)
            case 5:
                var ls = lines(bytes)
                let other = lines(r.pick(others))
                ls.insert(other[r.below(other.count)], at: r.below(ls.count + 1))
                bytes = join(ls)
            case 6 where !bytes.isEmpty:
                bytes = Array(bytes.prefix(r.below(bytes.count)))
            case 7 where !bytes.isEmpty:
                // A run of digits made extreme.
                if let i = bytes.indices.shuffledIndex(&r, where: { (0x30...0x39).contains(bytes[$0]) }) {
                    var j = i
                    while j < bytes.count && (0x30...0x39).contains(bytes[j]) { j += 1 }
                    bytes.replaceSubrange(i..<j, with: r.pick([Array("0".utf8), Array("-1".utf8), Array("4294967296".utf8),
                                                               Array("99999999999999999999".utf8), Array("1e308".utf8)]))
                }
            default:
                bytes.insert(UInt8(truncatingIfNeeded: r.next()), at: r.below(bytes.count + 1))
            }
        }
        return bytes
    }

    /// What is wrong with a message, or nil: it names the file, a line no
    /// further than the file's last (or none, for the whole file), one line,
    /// no control character.
    static func problem(_ e: ConfigError, path: String, lineCount: Int) -> String? {
        let text = e.description
        if !text.hasPrefix(path + ":") { return "does not begin with the file" }
        if e.source.file != path { return "names another file" }
        if e.source.line > lineCount + 1 { return "names line \(e.source.line) of \(lineCount)" }
        // A tab is harmless (messages keep it); any other control character would reach a terminal raw.
        if text.unicodeScalars.contains(where: { $0 != "\t" && $0.properties.generalCategory == .control }) {
            return "has a control character"
        }
        if e.source.line == 0 && !wholeFile.contains(where: { e.problem.contains($0) }) { return "has no line" }
        return nil
    }

    /// Problems about the file as a whole, which no line stands for.
    static let wholeFile = [
        "the package has no name", "not a regular file", "no such file", "not enough memory", "more than",
        "deadline of", "not a valid package name", "interrupted",
    ]

    /// The message with what varies (numbers, quoted values) taken out: its kind.
    static func kind(_ e: ConfigError) -> String {
        var out = ""
        var quoted = false
        for c in e.problem {
            if c == "\"" { quoted.toggle(); continue }
            if quoted || c.isNumber { continue }
            out.append(c)
        }
        return e.attribute.split(separator: "/").last.map(String.init).map { $0 + ": " } ?? "" + out
    }

    /// A worker: `count` mutated files from `seed`, each written to `out`
    /// before it is loaded; prints one line of figures, and FAIL lines.
    static func worker(_ o: Options) -> Never {
        let dir = o.corpus ?? defaultCorpus("packages")
        var corpus = seeds(dir)
        guard !corpus.isEmpty else { fail("no seeds in \(dir)") }
        // The parent removes it after the worker, also one the watchdog ended.
        let scratch = o.out + ".d"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let guardian = HangGuard(limit: 30, report: o.out + ".hang")
        let installation = Installation(shareDirectory: "/nonexistent", siteDirectory: nil)
        var r = Random(state: o.seed)
        var valid = 0, failures = 0
        var kinds = Set<String>()
        var slowest = 0.0
        for _ in 0..<o.count {
            let (name, seed) = r.pick(corpus)
            let input = mutate(seed, corpus.map(\.1), &r)
            // The legacy format is named by its directory, the native one by .lua.
            let path = "\(scratch)/\(name)"
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data(input))
            FileManager.default.createFile(atPath: o.out, contents: Data(input))
            guardian.begin(input)
            let began = now()
            var errors: [ConfigError] = []
            do {
                _ = try PackageLoader.load(path, installation: installation)
                valid += 1
            } catch {
                errors = error.errors
            }
            slowest = max(slowest, now() - began)
            guardian.end()
            var novel = false
            for e in errors {
                if kinds.insert(kind(e)).inserted { novel = true }
                if let what = problem(e, path: path, lineCount: lineCount(input, lua: name.hasSuffix(".lua"))) {
                    failures += 1
                    let kept = "\(o.out).failure-\(failures)-\((name as NSString).lastPathComponent)"
                    FileManager.default.createFile(atPath: kept, contents: Data(input))
                    say("FAIL: message \(what): \(e) (input kept in \(kept))")
                }
            }
            if novel && corpus.count < 2000 { corpus.append((name, input)) }
        }
        say("figures \(o.count) \(valid) \(corpus.count) \(kinds.count) \(slowest)")
        exit(failures == 0 ? 0 : 1)
    }

    static func run(_ o: Options) -> Bool {
        let dir = o.corpus ?? defaultCorpus("packages")
        let seedFiles = seeds(dir).count
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let out = "/tmp/hanfs-fuzz-packages-\(getpid()).input"
        defer {
            unlink(out)
            try? FileManager.default.removeItem(atPath: out + ".d")
        }
        let runner = ProcessRunner()
        var r = Random(state: o.seed)
        var executions = 0, valid = 0, workers = 0, watchdogEnds = 0, failures = 0, largestCorpus = 0, kinds = 0
        var slowest = 0.0
        let perWorker = 2000
        let until = now() + o.seconds
        say("packages: seed \(o.seed), \(seedFiles) seed files from \(dir)")
        while now() < until {
            let seed = r.next()
            let argv = [exe, "packages-worker", "--seed", String(seed), "--count", String(perWorker), "--out", out, "--corpus", dir]
            guard let result = try? runner.run(Command(argv, timeout: 600)) else { fail("cannot run a worker") }
            try? FileManager.default.removeItem(atPath: out + ".d")
            workers += 1
            for line in result.stdoutText.split(separator: "\n") {
                if line.hasPrefix("FAIL") { say(String(line)) }
                let f = line.split(separator: " ")
                if f.first == "figures", f.count == 6 {
                    executions += Int(f[1]) ?? 0
                    valid += Int(f[2]) ?? 0
                    largestCorpus = max(largestCorpus, Int(f[3]) ?? 0)
                    kinds = max(kinds, Int(f[4]) ?? 0)
                    slowest = max(slowest, Double(f[5]) ?? 0)
                }
            }
            switch result.termination {
            case .exited(0):
                break
            case .exited(1) where result.stderrText.contains("ending the process"):
                // A looping finalizer in a native package file, ended as designed.
                watchdogEnds += 1
                executions += 1
            default:
                failures += 1
                say("FAIL: worker seed \(seed) \(result.timedOut ? "hung" : result.summary): \(result.stderrTail()) (input in \(out).failure-*)")
                if let input = FileManager.default.contents(atPath: out) {
                    FileManager.default.createFile(atPath: "\(out).failure-worker-\(failures)", contents: input)
                }
            }
        }
        say("packages: \(executions) executions in \(workers) workers (\(Int(Double(executions) / o.seconds)) per second), "
              + "\(valid) valid, largest corpus \(largestCorpus), most distinct messages in a worker \(kinds), "
              + "\(watchdogEnds) ended by the watchdog as designed, slowest input \(String(format: "%.3f", slowest)) s")
        say("\(workers - failures) passed, \(failures) failed")
        return failures == 0
    }
}

extension Range where Bound == Int {
    /// A random index whose element satisfies `predicate`, if any.
    func shuffledIndex(_ r: inout Random, where predicate: (Int) -> Bool) -> Int? {
        let matching = filter(predicate)
        return matching.isEmpty ? nil : matching[r.below(matching.count)]
    }
}

// MARK: - Lua snippets through the boundary

enum LuaFuzz {
    /// Sizes around the boundary's limits.
    static let sizes = ["0", "1", "15", "16", "17", "19", "20", "21", "40", "255", "4096", "100000", "1048576", "67108864", "1073741824", "2147483647"]

    /// `slow-*` snippets (a backtracking pattern, a looping finalizer) end
    /// their worker through the watchdog: they go in workers of their own,
    /// one script each, so that the others run many scripts per worker.
    static func script(_ snippets: [(String, [UInt8])], slow: Bool, _ r: inout Random) -> String {
        let fast = snippets.filter { !$0.0.hasPrefix("slow-") }.map(\.1)
        let slowOnes = snippets.filter { $0.0.hasPrefix("slow-") }.map(\.1)
        var parts: [String] = []
        let count = 1 + r.below(4)
        let slowAt = slow && !slowOnes.isEmpty ? r.below(count) : -1
        for k in 0..<count {
            var text = String(decoding: k == slowAt ? r.pick(slowOnes) : r.pick(fast), as: UTF8.self)
            text = text.replacingOccurrences(of: "N", with: r.pick(sizes))
            if r.below(3) == 0 { text = "pcall(function()\n\(text)\nend)" }
            if r.below(5) == 0 { text = "coroutine.wrap(function()\n\(text)\nend)()" }
            parts.append(text)
        }
        return parts.joined(separator: "\n")
    }

    /// A worker: `count` scripts from `seed`, each written to `out` before it runs.
    static func worker(_ o: Options) -> Never {
        let snippets = seeds(o.corpus ?? defaultCorpus("lua"))
        var r = Random(state: o.seed)
        // The checkout's stdlib (the host loads its composites), and no site's.
        var installation = Installation.locate(environment: [:])
        installation.siteDirectory = nil
        var host: ScriptHost?
        for i in 0..<o.count {
            if host == nil || i % 20 == 0 {
                host = nil
                do {
                    host = try ScriptHost(installation: installation, runner: RecordingRunner(), planning: true)
                    host!.lua.register("echo") { call in
                        var n: Int32 = 0
                        if call.count > 0 { for j in 1...call.count { n += try call.push(try call.value(j)) } }
                        return n
                    }
                } catch {
                    fail("cannot make a host: \(error)")
                }
            }
            let code = script(snippets, slow: o.slow, &r)
            FileManager.default.createFile(atPath: o.out, contents: Data(code.utf8))
            do {
                try host!.lua.run(code, chunkName: "=fuzz", limits: RunLimits(deadline: 0.3, memory: 32 << 20))
            } catch {
                guard !error.message.isEmpty else { fail("an error with no message") }
            }
            do {
                guard try host!.lua.run("return 1 + 1", limits: RunLimits(deadline: 1)) == [.integer(2)] else {
                    fail("the state is unusable after: \(code)")
                }
            } catch {
                fail("the state is unusable after a run: \(error)")
            }
        }
        exit(0)
    }

    static func run(_ o: Options) -> Bool {
        let dir = o.corpus ?? defaultCorpus("lua")
        let snippets = seeds(dir)
        guard !snippets.isEmpty else { fail("no snippets in \(dir)") }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let out = "/tmp/hanfs-fuzz-lua-\(getpid()).lua"
        defer { unlink(out) }
        let runner = ProcessRunner()
        var r = Random(state: o.seed)
        var scripts = 0, workers = 0, watchdogEnds = 0, failures = 0
        let until = now() + o.seconds
        say("lua: seed \(o.seed), \(snippets.count) snippets from \(dir)")
        while now() < until {
            let seed = r.next()
            let slow = r.below(10) == 0
            let perWorker = slow ? 1 : 200
            let argv = [exe, "lua-worker", "--seed", String(seed), "--count", String(perWorker), "--out", out, "--corpus", dir,
                        "--slow", slow ? "1" : "0"]
            // Each script may take its deadline (0.3 s) and the watchdog's grace (1 s).
            guard let result = try? runner.run(Command(argv, timeout: Double(perWorker) * 1.5 + 10)) else { fail("cannot run a worker") }
            workers += 1
            let code = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            switch result.termination {
            case .exited(0):
                scripts += perWorker
            case .exited(1) where result.stderrText.contains("ending the process"):
                watchdogEnds += 1
                scripts += 1
            default:
                failures += 1
                let kept = "/tmp/hanfs-fuzz-failure-\(getpid())-\(failures).lua"
                try? code.write(toFile: kept, atomically: true, encoding: .utf8)
                say("FAIL: worker seed \(seed) \(result.timedOut ? "hung" : result.summary): \(result.stderrTail()) (script kept in \(kept))")
            }
        }
        say("lua: \(scripts) scripts in \(workers) workers (\(Int(Double(scripts) / o.seconds)) per second), "
              + "\(watchdogEnds) ended by the watchdog as designed, \(snippets.count) snippets")
        say("\(workers - failures) passed, \(failures) failed")
        return failures == 0
    }
}

// MARK: - main

let options = Options(Array(CommandLine.arguments.dropFirst()))
switch options.mode {
case "packages": exit(PackageFuzz.run(options) ? 0 : 1)
case "packages-worker": PackageFuzz.worker(options)
case "lua": exit(LuaFuzz.run(options) ? 0 : 1)
case "lua-worker": LuaFuzz.worker(options)
default: fail("usage: hanfs-fuzz packages|lua --seconds N [--seed S] [--corpus DIR]")
}
