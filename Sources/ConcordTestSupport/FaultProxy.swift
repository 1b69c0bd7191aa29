import ConcordCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the proxy does to one connection.
public struct ConnectionFault: Sendable, Equatable {
    /// Forward at most this many bytes of the request, then cut the connection.
    public var requestLimit: Int?
    /// Forward at most this many bytes of the response, then cut the connection.
    public var responseLimit: Int?
    /// Hold the response this long before forwarding any of it.
    public var stallMillis = 0
    /// Wait this long before forwarding each chunk, both ways.
    public var chunkDelayMillis = 0

    public init(requestLimit: Int? = nil, responseLimit: Int? = nil, stallMillis: Int = 0, chunkDelayMillis: Int = 0) {
        self.requestLimit = requestLimit
        self.responseLimit = responseLimit
        self.stallMillis = stallMillis
        self.chunkDelayMillis = chunkDelayMillis
    }

    public static let none = ConnectionFault()

    /// A seeded mix: most connections pass, the others are cut part-way through the request or
    /// the response, stalled, or slowed chunk by chunk. `kind` names the fault for tallies.
    package static func random(using random: inout SeededRandom) -> (fault: ConnectionFault, kind: String) {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<40: (.none, "none")
        case 40..<55: (ConnectionFault(requestLimit: Int.random(in: 0...1_500, using: &random)), "cut request")
        case 55..<75: (ConnectionFault(responseLimit: Int.random(in: 0...16_000, using: &random)), "cut response")
        case 75..<88: (ConnectionFault(stallMillis: Int.random(in: 100...1_500, using: &random)), "stall")
        default: (ConnectionFault(chunkDelayMillis: Int.random(in: 1...30, using: &random)), "delay")
        }
    }
}

/// A TCP proxy on 127.0.0.1 in front of a server that does to each connection what `faults`
/// says: cuts it part-way through the request or response, stalls it, or delays it. Tests use it
/// to show that an interrupted or slow sync loses and duplicates nothing. Each accepted connection
/// is forwarded on its own threads; `stop()` (or release) closes the listener.
public final class FaultProxy: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let faults: @Sendable () -> ConnectionFault

    /// Every connection gets the same fault.
    public convenience init(upstream url: String, requestLimit: Int? = nil, responseLimit: Int? = nil) throws {
        let fault = ConnectionFault(requestLimit: requestLimit, responseLimit: responseLimit)
        try self.init(upstream: url) { fault }
    }

    /// Each connection gets the fault `faults` returns when it is accepted.
    public init(upstream url: String, faults: @escaping @Sendable () -> ConnectionFault) throws {
        guard let port = URL(string: url)?.port else { throw CocoaError(.fileReadUnknown) }
        upstreamPort = port
        self.faults = faults
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw CocoaError(.fileWriteUnknown) }
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
            // Decided for every connection accepted, whether or not the upstream is there.
            let fault = faults()
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(upstreamPort))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(client); close(server); continue }
            let done = DispatchGroup()
            for (from, to, limit, stall) in [(client, server, fault.requestLimit, 0), (server, client, fault.responseLimit, fault.stallMillis)] {
                done.enter()
                Thread.detachNewThread {
                    Self.pump(from: from, to: to, limit: limit, stallMillis: stall, chunkDelayMillis: fault.chunkDelayMillis)
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

    private static func pump(from: Int32, to: Int32, limit: Int?, stallMillis: Int, chunkDelayMillis: Int) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var sent = 0
        var stalled = false
        while true {
            let wanted = min(buffer.count, (limit ?? .max) - sent)
            guard wanted > 0 else { return }
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, wanted) }
            guard count > 0 else { return }
            // The fault being injected: a network that holds or slows the bytes.
            if !stalled, stallMillis > 0 { usleep(UInt32(stallMillis) * 1000) }
            stalled = true
            if chunkDelayMillis > 0 { usleep(UInt32(chunkDelayMillis) * 1000) }
            var offset = 0
            while offset < count {
                // MSG_NOSIGNAL: a side that has gone (the faults cut connections) gives EPIPE,
                // not a SIGPIPE that would end the whole test process.
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { return }
                offset += written
            }
            sent += count
        }
    }
}
