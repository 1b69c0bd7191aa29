import Foundation

/// Runs the built `concord` binary as a separate process, as a person or a script would.
public struct ConcordExecutable: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public let path: String

    /// Finds `concord` beside the test binary (SwiftPM puts both in the same build folder),
    /// or at `$CONCORD_BIN`.
    public static func locate() throws -> ConcordExecutable {
        if let explicit = ProcessInfo.processInfo.environment["CONCORD_BIN"], !explicit.isEmpty {
            return ConcordExecutable(path: explicit)
        }
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(directory.appendingPathComponent("concord").path)
                directory = directory.deletingLastPathComponent()
            }
        }
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("concord").path)
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "concord binary not found near the test binary; set CONCORD_BIN"])
        }
        return ConcordExecutable(path: found)
    }

    /// Runs `concord ARGUMENTS` to completion and returns its exit status and output.
    @discardableResult
    public func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, in directory: String? = nil) throws -> Result {
        let process = configured(arguments, environment: environment, in: directory)
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        Self.ignoreBrokenPipes
        try process.run()
        // Both pipes are drained while the input is written, so neither side blocks on a full pipe.
        let errorData = PipeCollector(errors.fileHandleForReading)
        let outData = PipeCollector(output.fileHandleForReading)
        // A child may exit without reading all of its input (a refusal, `--version`): the write
        // then fails with EPIPE, which is no failure of ours; the child's status says what happened.
        if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: outData.finish(), stderr: errorData.finish())
    }

    /// A started process whose standard output the caller reads as it goes.
    public func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, FileHandle) {
        let process = configured(arguments, environment: environment, in: nil)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, output.fileHandleForReading)
    }

    private func configured(_ arguments: [String], environment: [String: String], in directory: String?) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["CONCORD_STORE"] = nil
        merged["CONCORD_ACTOR"] = nil
        // A PostgreSQL hub's key file goes under $XDG_CONFIG_HOME by default: one directory for
        // this test run, not the home directory's.
        merged["XDG_CONFIG_HOME"] = Self.configHome
        merged["CONCORD_HUB_KEY_FILE"] = nil
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        return process
    }
}

extension ConcordExecutable {
    /// `$XDG_CONFIG_HOME` for every `concord` a test runs: a directory of this test process's.
    static let configHome: String = {
        let path = NSTemporaryDirectory() + "concord-config-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }()

    /// Writing to a pipe whose reader has exited raises SIGPIPE, whose default action ends the
    /// whole test process; ignored, the write returns EPIPE instead. (NIO ignores it too, but
    /// only once it has opened a socket, so a test that runs earlier would die.)
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}

/// Drains a pipe on its own thread while the caller does something else.
private final class PipeCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func finish() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
