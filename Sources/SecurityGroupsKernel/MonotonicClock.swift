private import Glibc

/// Seconds on the monotonic clock (`CLOCK_MONOTONIC`, the same in every
/// process of the host): for durations, deadlines and between processes.
public enum MonotonicClock {
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Seconds since the last lap.
struct PhaseClock {
    private var last = MonotonicClock.now()

    @discardableResult
    mutating func lap() -> Double {
        let now = MonotonicClock.now()
        defer { last = now }
        return now - last
    }
}
