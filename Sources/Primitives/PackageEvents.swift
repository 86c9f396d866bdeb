import Foundation

/// The package's event records (`<log>.jsonl`, one JSON object per line),
/// as programs read them: the lab's timeline, the tests, the benchmarks.
public enum PackageEvents {
    /// Every record of the file, in order; none when it cannot be read.
    public static func read(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }.filter { $0["hanfs_log"] == nil }
    }
}
