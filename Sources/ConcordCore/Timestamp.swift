#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Milliseconds since the Unix epoch, UTC: how Concord stores every time, and its ISO 8601 text form.
public enum Timestamp {
    /// The wall clock now.
    public static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// `2016-03-09T10:00:00.000Z`. Total: every Int64 has a text (a tampered or out-of-range
    /// stored time must print, not trap); years outside 0000…9999 take ISO 8601's expanded form,
    /// a sign and at least six digits (`+012345-…`, `-000001-…`).
    public static func iso8601(millis: Int64) -> String {
        // Splitting by remainder first: `days * 86_400_000` would overflow for Int64.min.
        let remainder = millis % 86_400_000
        let days = millis / 86_400_000 - (remainder < 0 ? 1 : 0)
        let msOfDay = remainder < 0 ? remainder + 86_400_000 : remainder
        let (year, month, day) = civilFromDays(days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let ms = msOfDay % 1000
        guard (0...9999).contains(year) else {
            let yearText = (year < 0 ? "-" : "+") + pad(year.magnitude, 6)
            return "\(yearText)-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(ms, 3))Z"
        }
        // Every read-model row carries a few of these: the 24 bytes are written in place, with
        // no intermediate strings (a rebuild spent a tenth of its instructions here).
        return String(unsafeUninitializedCapacity: 24) { bytes in
            func put(_ value: Int64, _ width: Int, at start: Int) {
                var value = value
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    bytes[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            bytes[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            bytes[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            bytes[10] = UInt8(ascii: "T")
            put(hour, 2, at: 11)
            bytes[13] = UInt8(ascii: ":")
            put(minute, 2, at: 14)
            bytes[16] = UInt8(ascii: ":")
            put(second, 2, at: 17)
            bytes[19] = UInt8(ascii: ".")
            put(ms, 3, at: 20)
            bytes[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`, or a date and time
    /// separated by a space. A date alone means midnight UTC; a time without zone means UTC.
    public static func parse(_ text: String) throws -> Int64 {
        var scanner = Scanner(Array(text.utf8))
        func fail() -> ConcordError {
            ConcordError(
                .invalidArgument,
                "'\(text.prefix(60))' is not a date or time; use ISO 8601 such as 2016-03-09 or 2016-03-09T10:30:00Z"
            )
        }
        guard let year = scanner.digits(4), scanner.take(UInt8(ascii: "-")),
              let month = scanner.digits(2), scanner.take(UInt8(ascii: "-")),
              let day = scanner.digits(2)
        else { throw fail() }
        guard (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day) else { throw fail() }
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, millis: Int64 = 0, offsetMinutes: Int64 = 0
        if scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: " ")) || scanner.take(UInt8(ascii: "t")) {
            guard let h = scanner.digits(2), scanner.take(UInt8(ascii: ":")), let m = scanner.digits(2) else { throw fail() }
            hour = h
            minute = m
            if scanner.take(UInt8(ascii: ":")) {
                guard let s = scanner.digits(2) else { throw fail() }
                second = s
                if scanner.take(UInt8(ascii: ".")) || scanner.take(UInt8(ascii: ",")) {
                    var fraction: Int64 = 0, places = 0
                    while let d = scanner.digit() {
                        if places < 3 { fraction = fraction * 10 + d; places += 1 }
                    }
                    guard places > 0 else { throw fail() }
                    while places < 3 { fraction *= 10; places += 1 }
                    millis = fraction
                }
            }
            guard hour < 24, minute < 60, second < 60 else { throw fail() }
            if scanner.take(UInt8(ascii: "Z")) || scanner.take(UInt8(ascii: "z")) {
                offsetMinutes = 0
            } else if let sign = scanner.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                _ = scanner.next()
                guard let oh = scanner.digits(2) else { throw fail() }
                _ = scanner.take(UInt8(ascii: ":"))
                guard let om = scanner.digits(2), oh < 24, om < 60 else { throw fail() }
                offsetMinutes = (oh * 60 + om) * (sign == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        guard scanner.atEnd else { throw fail() }
        let days = daysFromCivil(year: year, month: month, day: day)
        return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offsetMinutes * 60_000
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
        mutating func next() -> UInt8? { defer { index += 1 }; return peek() }
        mutating func take(_ byte: UInt8) -> Bool {
            guard peek() == byte else { return false }
            index += 1
            return true
        }
        mutating func digit() -> Int64? {
            guard let c = peek(), c >= 0x30, c <= 0x39 else { return nil }
            index += 1
            return Int64(c - 0x30)
        }
        mutating func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let d = digit() else { return nil }
                value = value * 10 + d
            }
            return value
        }
    }

    private static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Rounds towards minus infinity, for every `a` (negating Int64.min would overflow).
    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b != 0 && (a < 0) != (b < 0) ? quotient - 1 : quotient
    }

    private static func isLeap(_ year: Int64) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's civil-calendar algorithms: exact for every proleptic Gregorian date.
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
