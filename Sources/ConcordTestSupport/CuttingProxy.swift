import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 that forwards to a server and cuts connections part-way, to test
/// that an interrupted sync loses and duplicates nothing. Each accepted connection is forwarded
/// on its own threads; `stop()` (or release) closes the listener.
public final class CuttingProxy: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    /// Forward at most this many bytes of each request / response, then close both sides.
    public let requestLimit: Int?
    public let responseLimit: Int?

    public init(upstream url: String, requestLimit: Int? = nil, responseLimit: Int? = nil) throws {
        guard let port = URL(string: url)?.port else { throw CocoaError(.fileReadUnknown) }
        upstreamPort = port
        self.requestLimit = requestLimit
        self.responseLimit = responseLimit
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw CocoaError(.fileWriteUnknown) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(upstreamPort))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(client); close(server); continue }
            let done = DispatchGroup()
            for (from, to, limit) in [(client, server, requestLimit), (server, client, responseLimit)] {
                done.enter()
                Thread.detachNewThread {
                    Self.pump(from: from, to: to, limit: limit)
                    // Cutting one direction cuts the connection, as a failing network would.
                    shutdown(from, Int32(SHUT_RDWR))
                    shutdown(to, Int32(SHUT_RDWR))
                    done.leave()
                }
            }
            Thread.detachNewThread {
                done.wait()
                close(client)
                close(server)
            }
        }
    }

    private static func pump(from: Int32, to: Int32, limit: Int?) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var sent = 0
        while true {
            let wanted = min(buffer.count, (limit ?? .max) - sent)
            guard wanted > 0 else { return }
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, wanted) }
            guard count > 0 else { return }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { return }
                offset += written
            }
            sent += count
        }
    }
}
