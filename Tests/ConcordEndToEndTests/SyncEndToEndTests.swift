import Synchronization
import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// Real `concord serve` and `concord sync` processes on loopback: a hub and two regions.
struct SyncEndToEndTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("sync")
    }

    @discardableResult
    func ok(_ node: String, _ arguments: [String]) throws -> String {
        let result = try concord.run(arguments + ["--store", directory.file("\(node).sqlite")], environment: ["CONCORD_ACTOR": "officer@\(node)"])
        #expect(result.status == 0, "\(node) \(arguments): \(result.stderr)")
        return result.stdout
    }

    func token(_ peer: String, readOnly: Bool = false) throws -> String {
        let output = try ok("hub", ["token", "issue", peer] + (readOnly ? ["--read-only"] : []))
        return String(output.split(separator: "\n").last ?? "")
    }

    @Test func offlineRegionsConvergeThroughTheHubWithTheConflictListedEverywhere() throws {
        for node in ["hub", "wy", "gm"] { try ok(node, ["init", "--node", node]) }
        let wyToken = try token("wy")
        let gmToken = try token("gm")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        try ok("wy", ["peer", "add", "hub", server.url, "--token", wyToken])
        try ok("gm", ["peer", "add", "hub", server.url, "--token", gmToken])

        // A shared case reaches both regions.
        try ok("wy", ["case", "open", "WM-2016-0042", "--title", "County lines", "--region", "West Midlands"])
        try ok("wy", ["sync", "hub"])
        try ok("gm", ["sync", "hub"])

        // Offline, each region records its own work and both change the shared case.
        try ok("wy", ["case", "status", "WM-2016-0042", "charged"])
        try ok("gm", ["case", "status", "WM-2016-0042", "referred"])
        for index in 1...20 {
            try ok("wy", ["case", "note", "WM-2016-0042", "WY note \(index)"])
        }
        try ok("gm", ["case", "open", "GM-2016-0101", "--title", "Nail bar", "--region", "Greater Manchester"])
        try ok("gm", ["meeting", "schedule", "GM-M1", "--title", "Regional meeting", "--at", "2016-04-01T10:00Z", "--location", "Manchester"])

        // Back online: through the hub in both directions.
        let first = try ok("wy", ["sync", "hub"])
        #expect(first.contains("pushed 21"), "\(first)")
        try ok("gm", ["sync", "hub"])
        try ok("wy", ["sync", "hub"])

        let digests = try ["hub", "wy", "gm"].map { try ok($0, ["digest"]) }
        #expect(Set(digests).count == 1, "digests differ: \(digests)")
        for node in ["hub", "wy", "gm"] {
            let conflicts = try ok(node, ["query", "conflicts", "--json"]).split(separator: "\n")
            #expect(conflicts.count == 1, "\(node): \(conflicts)")
            let conflict = try JSONValue(parsing: String(conflicts.first ?? ""))
            #expect(conflict["stream"] == .string("case:WM-2016-0042") && conflict["field"] == .string("status") && conflict["chosen"] == .string("charged"))
            #expect(try concord.run(["verify", "--store", directory.file("\(node).sqlite")]).status == 0)
        }

        // Nothing new: a second sync transfers no event (it may take the hub's newest checkpoint,
        // signed when gm synced), and a third not even a checkpoint: one request.
        let again = try ok("wy", ["sync", "hub"])
        #expect(again.contains("pulled 0 new event(s), pushed 0, 0 already held"), "\(again)")
        let third = try ok("wy", ["sync", "hub"])
        #expect(third.contains("pulled 0 new event(s), pushed 0, 0 already held, in 1 request(s)"), "\(third)")

        // Someone settles the conflict; it disappears everywhere after sync.
        try ok("gm", ["case", "status", "WM-2016-0042", "convicted"])
        try ok("gm", ["sync", "hub"])
        try ok("wy", ["sync", "hub"])
        for node in ["hub", "wy", "gm"] {
            #expect(try ok(node, ["query", "conflicts", "--json"]).isEmpty)
        }
        let list = try ok("wy", ["peer", "list", "--json"])
        let peer = try JSONValue(parsing: String(list.split(separator: "\n").first ?? ""))
        #expect(peer["peerLacks"] == .number("0") && peer["weLack"] == .number("0"))
    }

    @Test func aReadOnlyPeerMayPullButNotPush() throws {
        for node in ["hub", "auditor"] { try ok(node, ["init", "--node", node]) }
        try ok("hub", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        let readOnly = try token("auditor", readOnly: true)
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        try ok("auditor", ["case", "open", "AU-1", "--title", "Own note", "--region", "Audit"])
        let result = try concord.run(["sync", server.url, "--token", readOnly, "--store", directory.file("auditor.sqlite")])
        #expect(result.status == 69)
        #expect(result.stderr.contains("403") && result.stderr.contains("read-only"), "\(result.stderr)")
        // The pull half of that sync went through before the push was refused.
        #expect(try ok("auditor", ["status", "--json"]).contains("\"events\":2"))
        let pulled = try ok("auditor", ["sync", server.url, "--token", readOnly, "--direction", "pull"])
        #expect(pulled.contains("pulled 0 new event(s), pushed 0"))
        #expect(try ok("hub", ["status", "--json"]).contains("\"events\":1"))
    }

    @Test func aHubInStrictTrustModeRefusesARegionOffItsRosterUntilItIsAdded() throws {
        for node in ["hub", "wy"] { try ok(node, ["init", "--node", node]) }
        try ok("hub", ["trust", "mode", "strict"])
        try ok("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        let wyToken = try token("wy")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        let hubBefore = try ok("hub", ["log", "--json"])

        // The region's origin is set aside by the hub: the sync says so and exits 76, nothing is stored.
        let refused = try concord.run(["sync", server.url, "--token", wyToken, "--store", directory.file("wy.sqlite")])
        #expect(refused.status == 76)
        #expect(refused.stderr.contains("set aside origin") && refused.stderr.contains("untrusted-origin") && refused.stderr.contains("concord trust add"), "\(refused.stderr)")
        #expect(try ok("hub", ["log", "--json"]) == hubBefore)

        let wyOrigin = try JSONValue(parsing: try ok("wy", ["status", "--json"]))["origin"]
        guard case .string(let origin)? = wyOrigin else { Issue.record("no origin in status"); return }
        try ok("hub", ["trust", "add", origin, "--label", "west-yorkshire"])
        let accepted = try ok("wy", ["sync", server.url, "--token", wyToken])
        #expect(accepted.contains("pushed 1"), "\(accepted)")
        #expect(try ok("hub", ["trust", "list"]).contains("west-yorkshire"))
        #expect(try ok("wy", ["digest"]) == (try ok("hub", ["digest"])))
    }

    @Test func aFollowingSyncPullsWhatTheHubRecordsWhileItWaits() throws {
        for node in ["hub", "wy"] { try ok(node, ["init", "--node", node]) }
        try ok("hub", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        let wyToken = try token("wy")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        let (follower, output) = try concord.start(["sync", server.url, "--token", wyToken, "--follow", "--store", directory.file("wy.sqlite")])
        defer {
            follower.terminate()
            follower.waitUntilExit()
        }
        // Bounds the test: if the expected lines never come, the follower is stopped, which ends its output.
        let watchdog = DispatchWorkItem { follower.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }
        var lines = LineReader(output)

        let first = lines.next(until: { $0.hasPrefix("Synced") })
        #expect(first?.contains("pulled 1 new event(s)") == true, "\(String(describing: first))")
        // Recorded on the hub while the follower waits on its long poll.
        try ok("hub", ["case", "note", "WY-1", "Second visit"])
        let second = lines.next(until: { $0.hasPrefix("Synced") })
        #expect(second?.contains("pulled 1 new event(s)") == true, "\(String(describing: second))")
        #expect(follower.isRunning, "the follower should keep running after a round")
        #expect(try ok("wy", ["digest"]) == (try ok("hub", ["digest"])))
        #expect(try ok("wy", ["log", "--json"]).contains("Second visit"))
    }
}

extension SyncEndToEndTests {
    /// Two regions follow the hub. A case recorded on one by another process (concord case open)
    /// is pushed by that region's follower at once, while its long poll waits, and the hub answers
    /// the other region's waiting long poll as soon as it stores it. The bound below is not a
    /// speed target (scripts/bench-live.sh measures that): a long poll waits 25 s, so an arrival
    /// within 15 s shows the push did not wait for the poll to return.
    @Test func aFollowerPushesALocalCommitWhileItsLongPollWaits() throws {
        for node in ["hub", "wy", "gm"] { try ok(node, ["init", "--node", node]) }
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        var followers: [(Process, FileHandle)] = []
        for region in ["wy", "gm"] {
            let file = directory.file("\(region).token")
            try (try token(region) + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            try ok(region, ["peer", "add", "hub", server.url, "--token-file", file])
            followers.append(try concord.start(["sync", "hub", "--follow", "--store", directory.file("\(region).sqlite")]))
        }
        defer {
            for (process, _) in followers {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let watchdog = DispatchWorkItem { for (process, _) in followers { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }
        var wy = LineReader(followers[0].1)
        var gm = LineReader(followers[1].1)
        // Both have had their first round (a full sync) once they print it.
        #expect(wy.next(until: { $0.hasPrefix("Synced") }) != nil)
        #expect(gm.next(until: { $0.hasPrefix("Synced") }) != nil)
        let started = ContinuousClock.now
        try ok("wy", ["case", "open", "WY-LIVE", "--title", "Opened while both follow", "--region", "West Yorkshire"])
        let pushed = wy.next(until: { $0.hasPrefix("Synced") })
        #expect(pushed?.contains("pushed 1") == true, "\(String(describing: pushed))")
        let pulled = gm.next(until: { $0.hasPrefix("Synced") })
        let elapsed = ContinuousClock.now - started
        #expect(pulled?.contains("pulled 1 new event(s)") == true, "\(String(describing: pulled))")
        #expect(elapsed < .seconds(15), "the case took \(elapsed) to reach the other region: the push waited for the long poll")
        #expect(try ok("gm", ["show", "case:WY-LIVE"]).contains("Opened while both follow"))
    }
}

extension SyncEndToEndTests {
    /// A follower outlives its hub going away: the rounds that fail (here every connection is cut
    /// at once by a proxy in front of the hub while it restarts, as a proxy answers for a server
    /// that is down) are retried with a pause that grows, a case recorded meanwhile is pushed once
    /// the hub is back, and the other region's follower gets it.
    @Test func followersCarryOnWhenTheHubRestarts() throws {
        for node in ["hub", "wy", "gm"] { try ok(node, ["init", "--node", node]) }
        var server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        let down = Mutex(false)
        let cut = Mutex(0)
        let proxy = try FaultProxy(upstream: server.url) {
            guard down.withLock({ $0 }) else { return .none }
            cut.withLock { $0 += 1 }
            return ConnectionFault(requestLimit: 0)
        }
        defer { proxy.stop() }
        var followers: [(Process, FileHandle)] = []
        for region in ["wy", "gm"] {
            let file = directory.file("\(region).token")
            try (try token(region) + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            try ok(region, ["peer", "add", "hub", proxy.url, "--token-file", file])
            followers.append(try concord.start(["sync", "hub", "--follow", "--store", directory.file("\(region).sqlite")]))
        }
        defer {
            for (process, _) in followers {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let watchdog = DispatchWorkItem { for (process, _) in followers { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: watchdog)
        defer { watchdog.cancel() }
        var wy = LineReader(followers[0].1)
        var gm = LineReader(followers[1].1)
        #expect(wy.next(until: { $0.hasPrefix("Synced") }) != nil)
        #expect(gm.next(until: { $0.hasPrefix("Synced") }) != nil)

        let port = server.port
        down.withLock { $0 = true }
        server.stop()
        try ok("wy", ["case", "open", "WY-DOWN", "--title", "Opened while the hub was down", "--region", "West Yorkshire"])
        // The hub stays down until both followers' rounds have failed on it (bounded: 60 s).
        let deadline = ContinuousClock.now + .seconds(60)
        while cut.withLock({ $0 }) < 3, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(cut.withLock { $0 } >= 3, "the followers stopped trying")
        server = try ServerProcess(concord, store: directory.file("hub.sqlite"), port: port)
        down.withLock { $0 = false }
        let pushed = wy.next(until: { $0.hasPrefix("Synced") && $0.contains("pushed 1") })
        #expect(pushed != nil, "the West Yorkshire follower never pushed its case to the restarted hub")
        let pulled = gm.next(until: { $0.hasPrefix("Synced") && $0.contains("pulled 1 new event(s)") })
        #expect(pulled != nil, "the Greater Manchester follower never pulled the case")
        #expect(followers.allSatisfy { $0.0.isRunning }, "a follower ended")
        #expect(try ok("gm", ["show", "case:WY-DOWN"]).contains("Opened while the hub was down"))
    }
}

/// Reads a process's output a line at a time, as it arrives.
struct LineReader {
    private let handle: FileHandle
    private var buffer = ""

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    /// The next line that satisfies `predicate`, or nil when the output ends first.
    mutating func next(until predicate: (String) -> Bool) -> String? {
        while true {
            while let newline = buffer.firstIndex(of: "\n") {
                let line = String(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if predicate(line) { return line }
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer += String(decoding: chunk, as: UTF8.self)
        }
    }
}

/// `concord serve` with TLS, and a client that trusts the server's certificate file.
struct TLSSyncTests {
    @Test func syncRunsOverTLSWithATrustedCertificateAndNotWithout() throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("tls")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", directory.file("key.pem"), "-out", directory.file("cert.pem"),
        ]
        openssl.standardError = FileHandle.nullDevice
        openssl.standardOutput = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)

        let hub = directory.file("hub.sqlite")
        let region = directory.file("region.sqlite")
        _ = try concord.run(["init", "--node", "hub", "--store", hub])
        _ = try concord.run(["init", "--node", "region", "--store", region])
        _ = try concord.run(["case", "open", "WY-1", "--title", "Over TLS", "--region", "WY", "--store", hub])
        let token = String(try concord.run(["token", "issue", "region", "--store", hub]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: hub, extraArguments: ["--tls-cert", directory.file("cert.pem"), "--tls-key", directory.file("key.pem")])
        defer { server.stop() }
        #expect(server.url.hasPrefix("https://127.0.0.1:"))

        let untrusted = try concord.run(["sync", server.url, "--token", token, "--store", region])
        #expect(untrusted.status == 69, "\(untrusted.stdout)")
        let trusted = try concord.run(["sync", server.url, "--token", token, "--ca-cert", directory.file("cert.pem"), "--store", region])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(trusted.stdout.contains("pulled 1 new event(s)"))
    }
}

