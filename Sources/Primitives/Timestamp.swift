import Foundation

/// Wall-clock time for log lines and markers, formatted by hand: String(format:) costs
/// a dynamic cast per argument, and every log line has a time.
public struct Timestamp {
    public var tm = Glibc.tm()
    public var milliseconds = 0

    public static func now(utc: Bool) -> Timestamp {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = Timestamp()
        var seconds = tv.tv_sec
        if utc { gmtime_r(&seconds, &t.tm) } else { localtime_r(&seconds, &t.tm) }
        t.milliseconds = Int(tv.tv_usec / 1000)
        return t
    }

    static func digits(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `12:00:01.234`
    public var clock: String {
        "\(Self.digits(Int(tm.tm_hour), 2)):\(Self.digits(Int(tm.tm_min), 2)):\(Self.digits(Int(tm.tm_sec), 2)).\(Self.digits(milliseconds, 3))"
    }

    /// `2026-11-22T12:00:01.234Z` (of a UTC time)
    public var iso: String {
        "\(Self.digits(Int(tm.tm_year) + 1900, 4))-\(Self.digits(Int(tm.tm_mon) + 1, 2))-\(Self.digits(Int(tm.tm_mday), 2))T\(clock)Z"
    }
}
