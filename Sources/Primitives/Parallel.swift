import Foundation

/// Runs jobs on up to `limit` threads at once. A job starts only after the
/// jobs it waits for have ended (a mount after the mount of its parent
/// directory). Returns each job's result, in the jobs' order.
public enum Parallel {
    public static func run<T: Sendable>(
        count: Int, limit: Int, waitsFor: (Int) -> [Int] = { _ in [] },
        _ job: @escaping @Sendable (Int) -> T
    ) -> [T] {
        guard count > 0 else { return [] }
        let board = Board<T>(count: count, waits: (0..<count).map { Set(waitsFor($0)) })
        let group = DispatchGroup()
        for _ in 0..<max(1, min(limit, count)) {
            group.enter()
            Thread.detachNewThread {
                while let index = board.next() { board.finish(index, job(index)) }
                group.leave()
            }
        }
        group.wait()
        return board.results()
    }

    /// Which jobs have started and ended; guarded by one condition.
    private final class Board<T>: @unchecked Sendable {
        let count: Int
        let waits: [Set<Int>]
        var started = Set<Int>()
        var finished = Set<Int>()
        var values: [Int: T] = [:]
        let condition = NSCondition()

        init(count: Int, waits: [Set<Int>]) {
            self.count = count
            self.waits = waits
        }

        /// The next job whose waits are over; nil when every job has started.
        func next() -> Int? {
            condition.lock()
            defer { condition.unlock() }
            while started.count < count {
                if let ready = (0..<count).first(where: { !started.contains($0) && waits[$0].isSubset(of: finished) }) {
                    started.insert(ready)
                    return ready
                }
                condition.wait()
            }
            return nil
        }

        func finish(_ index: Int, _ value: T) {
            condition.lock()
            finished.insert(index)
            values[index] = value
            condition.broadcast()
            condition.unlock()
        }

        func results() -> [T] {
            condition.lock()
            defer { condition.unlock() }
            return (0..<count).map { values[$0]! }
        }
    }
}
