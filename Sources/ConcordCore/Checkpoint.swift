/// A node's signed statement of what it held at a moment: for every origin, how far its run went
/// and the hash of the event there.
///
/// Seals are signed by the origin that wrote the events, so a copy that lost an origin's tail
/// together with its seals still verifies on its own. A checkpoint is signed by the node that
/// *held* the events, and travels to other copies: a copy holding a checkpoint that names more of
/// an origin than it holds, or another hash at the same seq, has lost or changed history, and
/// "the record as node N held it at T" can be rebuilt and checked on any copy holding N's
/// checkpoint (docs/audit.md).
public struct Checkpoint: Sendable, Hashable {
    /// One origin's place in a checkpoint: its events 1…seq were held, the last with this hash.
    public struct Head: Sendable, Hashable {
        public var origin: OriginID
        public var seq: UInt64
        public var hash: EventHash

        public init(origin: OriginID, seq: UInt64, hash: EventHash) {
            self.origin = origin
            self.seq = seq
            self.hash = hash
        }
    }

    /// The origin whose key signed it: the node's incarnation at the time.
    public var signer: OriginID
    /// The signer's node name (`concord init --node`), so that `--seen-by NAME` can find it.
    public var node: String
    /// 1, 2, 3… for each signer.
    public var number: UInt64
    /// The signer's wall clock (ms since 1970) when it was taken.
    public var takenAt: Int64
    /// Every origin the node held events of, sorted by origin id, no origin twice.
    public var heads: [Head]
    /// Ed25519 signature over `signedBytes`.
    public var signature: [UInt8]

    public init(signer: OriginID, node: String, number: UInt64, takenAt: Int64, heads: [Head], signature: [UInt8]) {
        self.signer = signer
        self.node = node
        self.number = number
        self.takenAt = takenAt
        self.heads = heads
        self.signature = signature
    }

    public static let encodingTag = "concord.checkpoint.v1"

    /// Signs what `key` holds. `heads` need not be sorted; origins with nothing held are left out.
    public static func sign(key: NodeKey, node: String, number: UInt64, takenAt: Int64, heads: [Head]) -> Checkpoint {
        let sorted = heads.filter { $0.seq > 0 }.sorted { $0.origin < $1.origin }
        let bytes = signedBytes(signer: key.origin, node: node, number: number, takenAt: takenAt, heads: sorted)
        return Checkpoint(signer: key.origin, node: node, number: number, takenAt: takenAt, heads: sorted, signature: key.sign(bytes))
    }

    /// The message that is signed: the tag, the signer, the node name, the number, the time, the
    /// count of heads and each head's origin, seq and hash.
    public static func signedBytes(signer: OriginID, node: String, number: UInt64, takenAt: Int64, heads: [Head]) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 64 + heads.count * 80)
        writer.write(encodingTag)
        writer.write(signer.hex)
        writer.write(node)
        writer.write(number)
        writer.write(takenAt)
        writer.write(UInt64(heads.count))
        for head in heads {
            writer.write(head.origin.hex)
            writer.write(head.seq)
            writer.write(bytes: head.hash.bytes)
        }
        return writer.bytes
    }

    public var signedBytes: [UInt8] { Self.signedBytes(signer: signer, node: node, number: number, takenAt: takenAt, heads: heads) }

    /// The version vector the checkpoint names.
    public var vector: VersionVector {
        VersionVector(Dictionary(heads.map { ($0.origin, $0.seq) }, uniquingKeysWith: max))
    }

    /// Every field in its documented range (docs/audit.md), heads sorted with no origin twice:
    /// checked where a line becomes a checkpoint (as `invalid-json`), so a malformed one refuses
    /// its whole body (422), and again before one is stored.
    public func checkRanges() throws {
        guard !node.isEmpty, node.utf8.count <= EventLimits.maxLabelBytes, !node.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): its node name must be 1 to \(EventLimits.maxLabelBytes) bytes without control characters")
        }
        // (Below 2^63 − 1, so that the signer's next number is in range too.)
        guard number >= 1, number < UInt64(Int64.max) else {
            throw ConcordError(.invalidEvent, "checkpoint number \(number) is outside 1…2^63−2")
        }
        guard EventLimits.timeRange.contains(takenAt) else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): its time is outside \(EventLimits.timeRange.described)")
        }
        guard !heads.isEmpty else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer) names no origin: it says nothing")
        }
        guard heads.count <= EventLimits.maxOrigins else {
            throw ConcordError(.tooLarge, "checkpoint \(number) of \(signer) names more than \(EventLimits.maxOrigins) origins")
        }
        for (index, head) in heads.enumerated() {
            guard EventLimits.seqRange.contains(head.seq) else {
                throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): seq \(head.seq) of \(head.origin) is outside 1…2^63−1")
            }
            if index > 0, !(heads[index - 1].origin < head.origin) {
                throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): its heads are not in origin order, or name an origin twice")
            }
        }
        guard signature.count == 64 else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): a signature is 64 bytes")
        }
    }

    /// Checks the parts a signature cannot: ranges and order (`checkRanges`), and that `key` is
    /// the signer's and signed it.
    public func validate(key: OriginKey) throws {
        try checkRanges()
        guard key.origin == signer, key.keyMatchesOrigin else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): the key offered is not the signer's")
        }
        guard key.isValidSignature(signature, for: signedBytes) else {
            throw ConcordError(.invalidEvent, "checkpoint \(number) of \(signer): the signature does not verify with the signer's key")
        }
    }
}

extension Checkpoint {
    /// `{"kind":"checkpoint","signer":…,"number":…,"takenAt":…,"heads":[[origin,seq,hash],…],"signature":…}`
    public var exchangeJSON: String {
        var out: [UInt8] = []
        out.reserveCapacity(200 + heads.count * 110)
        out.append(UInt8(ascii: "["))
        for (index, head) in heads.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "[\"\(head.origin.hex)\",\(head.seq),\"\(head.hash.hex)\"]".utf8)
        }
        out.append(UInt8(ascii: "]"))
        var json = JSONObjectWriter()
        json.field("kind", "checkpoint")
        json.field("signer", signer.hex)
        json.field("node", node)
        json.field("number", number)
        json.field("takenAt", takenAt)
        json.field("heads", rawJSON: String(decoding: out, as: UTF8.self))
        json.field("signature", Hex.encode(signature))
        return json.finish()
    }

    /// Reads a checkpoint line's fields (not its signature: `validate(key:)` checks that). A line
    /// that is malformed or outside a range is `invalid-json`, whichever field it is.
    /// A checkpoint as a store keeps it (its exchange line, checked on arrival): one that no
    /// longer reads was changed in the store outside Concord.
    public init(storedLine line: String) throws {
        guard let checkpoint = try? Checkpoint(exchange: JSONValue(parsing: line, limits: JSONLimits(maxDepth: 4, maxBytes: 16 << 20))) else {
            throw ConcordError(.storage, "a stored checkpoint no longer reads as one: the checkpoints table was changed outside Concord")
        }
        self = checkpoint
    }

    public init(exchange object: JSONValue) throws {
        do {
            try self.init(reading: object)
        } catch let error as ConcordError where error.code != .invalidJSON && error.code != .tooLarge {
            throw ConcordError(.invalidJSON, error.message, cause: error)
        }
    }

    private init(reading object: JSONValue) throws {
        let fields = ExchangeFields(object, what: "checkpoint")
        guard case .array(let items)? = object["heads"], items.count <= EventLimits.maxOrigins else {
            throw ConcordError(.invalidJSON, "checkpoint field \"heads\" must be an array of at most \(EventLimits.maxOrigins) [origin, seq, hash] entries")
        }
        let heads = try items.map { item -> Head in
            guard case .array(let parts) = item, parts.count == 3, case .string(let origin) = parts[0], case .number(let seqText) = parts[1],
                  let seq = JSONValue.integer(fromNumber: seqText), seq >= 1, case .string(let hashText) = parts[2],
                  let hash = Hex.decodeLowercase(hashText), hash.count == 32 else {
                throw ConcordError(.invalidJSON, "checkpoint heads must be [origin, seq from 1 to \(Int64.max), 64 lowercase hex digits]")
            }
            return Head(origin: try OriginID(hex: origin), seq: UInt64(seq), hash: EventHash(bytes: hash))
        }
        self.init(
            signer: try OriginID(hex: try fields.string("signer")),
            node: try fields.string("node"),
            number: try fields.seq("number"),
            takenAt: try fields.integer("takenAt", in: EventLimits.timeRange),
            heads: heads,
            signature: try fields.hex("signature", count: 64)
        )
        // A line outside its documented ranges is malformed, like any other: one code for all
        // (the whole body is refused, nothing stored; docs/audit.md).
        try checkRanges()
    }
}
