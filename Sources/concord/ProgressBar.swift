#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress bar on standard error, shown only when it is a terminal: piped or redirected
/// output stays exactly the command's output.
struct ProgressBar {
    private let label: String
    let total: Int
    private let enabled: Bool
    private var lastDrawn = -1

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = isatty(STDERR_FILENO) == 1
    }

    mutating func update(_ done: Int) {
        guard enabled else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastDrawn else { return }
        lastDrawn = percent
        let filled = percent / 4
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 25 - filled)
        write("\r\(label) [\(bar)] \(percent)% \(done)/\(total)")
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    func finish() {
        guard enabled, lastDrawn >= 0 else { return }
        write("\r\u{1B}[2K")
    }
}
