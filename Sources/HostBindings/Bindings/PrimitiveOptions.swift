import Foundation
import LuaRuntime
import PackageConfig
import Primitives

/// The options table a primitive takes last: only known keys, each checked.
struct PrimitiveOptions {
    let view: LuaTableView?

    init(_ call: LuaCall, _ index: Int32, known: Set<String>) throws {
        guard !call.isNil(index) else {
            view = nil
            return
        }
        let t = try call.table(index)
        if let unknown = t.keys.sorted().first(where: { !known.contains($0) }) {
            throw t.badField(unknown, "unknown option; known: \(known.sorted().joined(separator: ", "))")
        }
        view = t
    }

    func number(_ key: String, _ fallback: Double, minimum: Double = 0) throws -> Double {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .integer(let i) where Double(i) >= minimum: return Double(i)
        case .number(let d) where d >= minimum && d.isFinite: return d
        case let v: throw t.badField(key, "a number of at least \(minimum) expected, got \(v.typeName)")
        }
    }

    func integer(_ key: String, _ fallback: Int, minimum: Int = 0) throws -> Int {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .integer(let i) where i >= minimum: return Int(i)
        case let v: throw t.badField(key, "a whole number of at least \(minimum) expected, got \(v.typeName)")
        }
    }

    func boolean(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let t = view else { return fallback }
        switch try t[key] {
        case .nil: return fallback
        case .boolean(let b): return b
        case let v: throw t.badField(key, "boolean expected, got \(v.typeName)")
        }
    }

    func string(_ key: String) throws -> String? {
        guard let t = view else { return nil }
        switch try t[key] {
        case .nil: return nil
        case .string(let s) where !s.utf8.contains(0): return s
        case .string: throw t.badField(key, "a string with a NUL byte")
        case let v: throw t.badField(key, "string expected, got \(v.typeName)")
        }
    }
}
