import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// Sharing rules and erasure across real `concord` processes: a hub with rules serving three
/// regions, checked on the wire, in every byte of every node's files, and by verify and digest.
struct NeedToKnowTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("need-to-know")
    }

    @discardableResult
    func ok(_ node: String, _ arguments: [String]) throws -> String {
        let result = try concord.run(arguments + ["--store", store(node)], environment: ["CONCORD_ACTOR": "officer@\(node)"])
        #expect(result.status == 0, "\(node) \(arguments): \(result.stderr)")
        return result.stdout
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    func token(_ peer: String) throws -> String {
        String(try ok("hub", ["token", "issue", peer]).split(separator: "\n").last ?? "")
    }

    /// Every byte of every file a node keeps (store, WAL, shared memory, key, peer tokens).
    func bytes(of node: String) throws -> Data {
        var all = Data()
        for suffix in ["", "-wal", "-shm", ".key", ".peers"] {
            if let data = FileManager.default.contents(atPath: store(node) + suffix) { all += data }
        }
        return all
    }

    func holds(_ node: String, _ text: String) throws -> Bool {
        try bytes(of: node).range(of: Data(text.utf8)) != nil
    }

    func expectHolding(_ node: String, _ present: [String], not absent: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for text in present { #expect(try holds(node, text), "\(node) lacks \(text)", sourceLocation: sourceLocation) }
        for text in absent { #expect(try !holds(node, text), "\(node) holds \(text)", sourceLocation: sourceLocation) }
    }

    func cases(_ node: String) throws -> [String: JSONValue] {
        var byID: [String: JSONValue] = [:]
        for line in try ok(node, ["query", "cases", "--json"]).split(separator: "\n") {
            let row = try JSONValue(parsing: String(line))
            if case .string(let id)? = row["case_id"] { byID[id] = row }
        }
        return byID
    }

    /// The raw pull answer a peer's token gets, uncompressed, as the bytes on the wire.
    func wire(port: Int, token: String) throws -> String {
        let connection = try RawHTTPConnection(port: port)
        let body = #"{"have":{}}"#
        connection.send("POST /v1/pull HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        return String(decoding: connection.readAll(), as: UTF8.self)
    }

    @Test func aHubServesEachRegionWhatItsRulesAllowAndAnErasureLeavesNoByteAnywhere() throws {
        // A new hub must choose its default; this one withholds from peers without rules.
        let refused = try concord.run(["init", "--node", "hub", "--hub", "--store", store("hub")])
        #expect(refused.status != 0 && refused.stderr.contains("--share-default"), "\(refused.stderr)")
        try ok("hub", ["init", "--node", "hub", "--hub", "--share-default", "stubs"])
        for node in ["north", "south", "east", "east2"] { try ok(node, ["init", "--node", node]) }
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        var tokens: [String: String] = [:]
        for node in ["north", "south", "east", "east2"] {
            tokens[node] = try token(node)
            try ok(node, ["peer", "add", "hub", server.url, "--token", tokens[node]!])
        }
        try ok("hub", ["share", "add", "north", "all"])
        try ok("hub", ["share", "add", "south", "kind:meeting"])
        try ok("hub", ["share", "add", "east", "region:North"])
        try ok("hub", ["share", "add", "east2", "region:North"])

        // North records a case of its region, a case it keeps local, and a meeting for everyone.
        try ok("north", ["case", "open", "N-1", "--title", "Secret Alpha North", "--region", "North"])
        try ok("north", ["case", "note", "N-1", "Victim Alice Northcott moved to a safe house"])
        // A long note: its data spills into overflow pages, which an erasure frees.
        try ok("north", ["case", "note", "N-1", String(repeating: "Statement of Alice Northcott, page after page. ", count: 200)])
        try ok("north", ["case", "open", "N-2", "--title", "Local only Zed", "--region", "North"])
        try ok("north", ["share", "local", "case:N-2"])
        try ok("north", ["meeting", "schedule", "M-1", "--title", "Best practice forum", "--at", "2026-12-01T10:00Z", "--location", "Leeds"])
        try ok("south", ["case", "open", "S-1", "--title", "Southern Secret Bravo", "--region", "South"])
        let stale = directory.file("north-before-erasure.ndjson")
        try ok("north", ["export", "--out", stale])
        for node in ["north", "south", "east", "east2", "north", "south", "east", "east2"] { try ok(node, ["sync", "hub"]) }

        // Each store holds exactly what its rules allow.
        try expectHolding("hub", ["Secret Alpha North"], not: ["Local only Zed"])
        try expectHolding("east", ["Secret Alpha North"], not: ["Southern Secret Bravo", "Local only Zed"])
        try expectHolding("south", ["Best practice forum"], not: ["Secret Alpha North", "Alice Northcott"])
        try expectHolding("north", ["Best practice forum", "Southern Secret Bravo"])
        // The same on the wire: what south's token is served carries no byte of north's case.
        let southWire = try wire(port: server.port, token: tokens["south"]!)
        #expect(southWire.contains("HTTP/1.1 200") && southWire.contains("\"commitment\""), "\(southWire.prefix(300))")
        for secret in ["Secret Alpha North", "Alice Northcott", "Local only Zed"] { #expect(!southWire.contains(secret), "\(secret)") }
        #expect(southWire.contains("Best practice forum"))
        // Withheld streams show as withheld, never as empty or wrong; every node verifies.
        #expect(try cases("south")["N-1"]?["status"] == .string("withheld"))
        #expect(try cases("east")["N-2"]?["status"] == .string("withheld"))
        #expect(try cases("east")["N-1"]?["title"] == .string("Secret Alpha North"))
        for node in ["hub", "north", "south", "east", "east2"] {
            #expect(try concord.run(["verify", "--store", store(node)]).status == 0, "\(node)")
        }
        // Nodes holding the same events and openings have the same digest.
        #expect(try ok("east", ["digest"]) == (try ok("east2", ["digest"])))
        #expect(try ok("east", ["digest"]) != (try ok("south", ["digest"])))
        let explained = try ok("hub", ["share", "explain", "south", "case:N-1"])
        #expect(explained.contains("as stubs") && explained.contains("none of south's rules"), "\(explained)")
        // An export for a peer holds what that peer may see.
        let forSouth = directory.file("for-south.ndjson")
        try ok("hub", ["export", "--for", "south", "--out", forSouth])
        let exported = try String(contentsOfFile: forSouth, encoding: .utf8)
        #expect(!exported.contains("Secret Alpha North") && exported.contains("Best practice forum"))

        // A rule widened later: south's next sync fetches the openings of its stubs of north's cases.
        try ok("hub", ["share", "add", "south", "region:North"])
        let widened = try ok("south", ["sync", "hub"])
        #expect(widened.contains("openings of stubs: 3 received"), "\(widened)")
        try expectHolding("south", ["Secret Alpha North"], not: ["Local only Zed"])
        #expect(try cases("south")["N-1"]?["title"] == .string("Secret Alpha North"))
        #expect(try concord.run(["verify", "--store", store("south")]).status == 0)
        // Nothing moved since: the next sync asks nothing again.
        #expect(try !ok("south", ["sync", "hub"]).contains("openings of stubs"))

        // North lets its local case go: north offers the hub the opening it withheld, and the hub,
        // holding it late, passes it on to the region its rules grant it to.
        // (East compares openings numbers with the hub first: the hub's rules changed, east's did not.)
        #expect(try !ok("east", ["sync", "hub"]).contains("received"))
        try ok("north", ["share", "local", "case:N-2", "--remove"])
        let offered = try ok("north", ["sync", "hub"])
        #expect(offered.contains("openings of stubs: 0 received, 1 sent"), "\(offered)")
        try expectHolding("hub", ["Local only Zed"])
        let late = try ok("east", ["sync", "hub"])
        #expect(late.contains("openings of stubs: 1 received"), "\(late)")
        try expectHolding("east", ["Local only Zed"])
        #expect(try cases("east")["N-2"]?["title"] == .string("Local only Zed"))

        // North erases its case; the erasure reaches every node through the hub.
        let erased = try ok("north", ["erase", "case:N-1", "--reason", "retention review 2026-12: no further action"])
        #expect(erased.contains("Erased the data of 3 event(s)"), "\(erased)")
        for node in ["north", "south", "east", "east2", "north"] { try ok(node, ["sync", "hub"]) }
        for node in ["hub", "north", "south", "east", "east2"] {
            for secret in ["Secret Alpha North", "Alice Northcott"] {
                #expect(try !holds(node, secret), "\(node) still holds \(secret)")
            }
            #expect(try concord.run(["verify", "--store", store(node)]).status == 0, "\(node)")
            #expect(try cases(node)["N-1"]?["title"] == .string("[erased]"), "\(node)")
            let fresh = directory.file("fresh-\(node).ndjson")
            try ok(node, ["export", "--out", fresh])
            #expect(try !String(contentsOfFile: fresh, encoding: .utf8).contains("Alice Northcott"), "\(node)'s export")
        }
        #expect(try ok("east", ["digest"]) == (try ok("east2", ["digest"])))
        #expect(try holds("east", "retention review 2026-12"))

        // A stale copy offers the erased openings again: they are not stored.
        let again = try concord.run(["import", stale, "--store", store("east")])
        #expect(again.status == 0, "\(again.stderr)")
        try expectHolding("east", [], not: ["Alice Northcott"])
        #expect(try cases("east")["N-1"]?["title"] == .string("[erased]"))
        #expect(try concord.run(["verify", "--store", store("east")]).status == 0)
    }

    @Test func anErasureByAnOriginWithoutTheRightIsRefusedOnEveryNode() throws {
        for node in ["north", "east"] { try ok(node, ["init", "--node", node]) }
        try ok("north", ["case", "open", "N-1", "--title", "Secret Alpha North", "--region", "North"])
        let export = directory.file("north.ndjson")
        try ok("north", ["export", "--out", export])
        try ok("east", ["import", export])
        // A hostile origin signs an erasure naming north's event.
        let line = try #require(try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").first { $0.contains("\"kind\":\"event\"") })
        let target = try Event(exchange: try JSONValue(parsing: String(line)))
        let key = NodeKey()
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        let data = JSONValue.object(["events": .array([.string(target.id.description)]), "reason": .string("hostile")])
        let draft = try EventDraft(stream: Erasure.stream(of: key.origin), type: EventType(Erasure.eventType), data: data, actor: "forger", occurredAt: 0)
        let forged = chain.append(draft, hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis(), counter: 0), recordedAt: Timestamp.nowMillis(), prev: [])
        let file = directory.file("forged.ndjson")
        try [key.originKey.exchangeJSON, forged.exchangeJSON, chain.sealHead().exchangeJSON].joined(separator: "\n").appending("\n").write(toFile: file, atomically: true, encoding: .utf8)
        for node in ["north", "east"] {
            let result = try concord.run(["import", file, "--store", store(node)])
            #expect(result.status == 65 && result.stderr.contains("an origin may erase only the events it, or an earlier incarnation of its node, recorded"), "\(node): \(result.stderr)")
            #expect(try holds(node, "Secret Alpha North"), "\(node) lost the data")
            #expect(try concord.run(["verify", "--store", store(node)]).status == 0)
        }
        // concord erase itself refuses another origin's event.
        let own = try concord.run(["erase", target.id.description, "--reason", "not mine", "--store", store("east")])
        #expect(own.status != 0 && own.stderr.contains("only the node that recorded an event may erase it"), "\(own.stderr)")
    }
}
