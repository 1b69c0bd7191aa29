import Foundation

/// A fresh directory for one test, removed when the test is done with it.
///
/// Every test gets its own store files, so tests run in parallel without sharing state.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        var template = Array(((NSTemporaryDirectory() as NSString).appendingPathComponent("concord-\(label)-XXXXXX").utf8CString))
        guard let made = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: made)
    }

    /// `DIRECTORY/name`
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
