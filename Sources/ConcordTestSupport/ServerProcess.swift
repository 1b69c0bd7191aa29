import Foundation

/// A real `concord serve` process on 127.0.0.1, on a port the system assigns (the test passes
/// port 0 and reads the bound address from the server's first line), or on the port of an
/// earlier one (a restart). Stopped by `stop()` or when released.
public final class ServerProcess: @unchecked Sendable {
    public let url: String
    private let process: Process

    public init(_ concord: ConcordExecutable, store: String, port: Int = 0, extraArguments: [String] = []) throws {
        let (process, output) = try concord.start(["serve", "--store", store, "--listen", "127.0.0.1:\(port)"] + extraArguments)
        self.process = process
        // The first line is "listening on http://127.0.0.1:PORT"; EOF means the server failed to start.
        var text = ""
        while !text.contains("\n") {
            let chunk = output.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("listening on ") else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "concord serve did not start: \(text)"])
        }
        url = String(line.dropFirst("listening on ".count))
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    public var isRunning: Bool { process.isRunning }

    /// The server's process id.
    public var pid: Int32 { process.processIdentifier }

    /// The port it listens on.
    public var port: Int { Int(url.split(separator: ":").last ?? "") ?? 0 }

    deinit { stop() }
}
