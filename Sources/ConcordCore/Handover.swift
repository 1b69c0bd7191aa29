/// A signed handover from one incarnation of a node to the next: the earlier origin's key signs
/// the later origin's id and the last seq it recorded, while that key is still at hand (a store
/// moved, copied or restored keeps its key file beside it). It lets the later incarnation erase
/// what the earlier one recorded up to that seq, and nothing after it (a copied store's original
/// may go on writing as the earlier origin: those events are not the copy's to erase). An
/// erasure carries the handovers that link each origin it names to its own (`Erasure`), so every
/// node decides from the erasure alone, as for any erasure.
///
/// Signed bytes: the ASCII text `concord-handover-1`, a zero byte, the earlier origin's id in
/// hex, a zero byte, the later origin's id in hex, a zero byte, `through` in decimal. The earlier
/// origin's public key travels with it, and must hash to that origin (as every key must).
public struct Handover: Sendable, Hashable {
    /// The earlier incarnation: its origin and public key.
    public var from: OriginKey
    /// The later incarnation's origin.
    public var to: OriginID
    /// The last seq of `from` handed over: events of `from` after it are not covered.
    public var through: UInt64
    /// Ed25519, by `from`'s key, over `signedBytes`.
    public var signature: [UInt8]

    public init(from: OriginKey, to: OriginID, through: UInt64, signature: [UInt8]) {
        self.from = from
        self.to = to
        self.through = through
        self.signature = signature
    }

    /// The handover `key` signs to `successor`, of its events 1…`through`.
    public static func sign(by key: NodeKey, to successor: OriginID, through: UInt64) -> Handover {
        Handover(from: key.originKey, to: successor, through: through, signature: key.sign(signedBytes(from: key.origin, to: successor, through: through)))
    }

    public static func signedBytes(from: OriginID, to: OriginID, through: UInt64) -> [UInt8] {
        Array("concord-handover-1".utf8) + [0] + Array(from.hex.utf8) + [0] + Array(to.hex.utf8) + [0] + Array(String(through).utf8)
    }

    /// True when `through` is a seq, the key hashes to `from`'s origin, the signature verifies
    /// with it, and the handover is not to the origin itself.
    public var isValid: Bool {
        EventLimits.seqRange.contains(through) && from.keyMatchesOrigin && from.origin != to
            && from.isValidSignature(signature, for: Self.signedBytes(from: from.origin, to: to, through: through))
    }

    /// The origins `handovers` link to `origin` (not `origin` itself), each with the last of its
    /// seqs they hand over: those from which a chain of handovers leads to it. Takes the
    /// handovers as valid (the caller checked each once: `isValid` costs a signature check).
    public static func linked(to origin: OriginID, byValid handovers: [Handover]) -> [OriginID: UInt64] {
        var into: [OriginID: [Handover]] = [:]
        for handover in handovers { into[handover.to, default: []].append(handover) }
        var linked: [OriginID: UInt64] = [:]
        var frontier = [origin]
        var seen: Set<OriginID> = [origin]
        while let next = frontier.popLast() {
            for handover in into[next] ?? [] {
                let earlier = handover.from.origin
                guard earlier != origin else { continue }
                linked[earlier] = max(linked[earlier] ?? 0, handover.through)
                if seen.insert(earlier).inserted { frontier.append(earlier) }
            }
        }
        return linked
    }

    /// The handovers of `all` that a chain from each of `origins` to `successor` needs (the
    /// shortest such chains), or nil when one of them is linked to it by none.
    public static func chains(from origins: Set<OriginID>, to successor: OriginID, in all: [Handover]) -> [Handover]? {
        let valid = all.filter(\.isValid)
        var needed: Set<Handover> = []
        for origin in origins where origin != successor {
            // Breadth first from the successor backwards: the first time an origin is reached
            // is by its shortest chain.
            var via: [OriginID: Handover] = [:]
            var frontier: [OriginID] = [successor]
            var seen: Set<OriginID> = [successor]
            while !frontier.isEmpty, via[origin] == nil {
                var next: [OriginID] = []
                for target in frontier {
                    for handover in valid where handover.to == target && seen.insert(handover.from.origin).inserted {
                        via[handover.from.origin] = handover
                        next.append(handover.from.origin)
                    }
                }
                frontier = next
            }
            guard var step = via[origin] else { return nil }
            while true {
                needed.insert(step)
                guard step.to != successor, let further = via[step.to] else { break }
                step = further
            }
        }
        return needed.sorted { ($0.from.origin, $0.to) < ($1.from.origin, $1.to) }
    }

    /// `{"from": ORIGIN, "key": HEX, "signature": HEX, "through": SEQ, "to": ORIGIN}`: as an
    /// erasure carries it.
    public var json: JSONValue {
        .object([
            "from": .string(from.origin.hex), "key": .string(Hex.encode(from.publicKey)),
            "signature": .string(Hex.encode(signature)), "through": .number(String(through)), "to": .string(to.hex),
        ])
    }

    /// A handover as `json` wrote it; nil for anything else.
    public init?(json: JSONValue) {
        guard case .object(let fields) = json, fields.count == 5,
              case .string(let from)? = fields["from"], case .string(let key)? = fields["key"],
              case .string(let signature)? = fields["signature"], case .string(let to)? = fields["to"],
              case .number(let throughText)? = fields["through"], let through = UInt64(throughText), EventLimits.seqRange.contains(through),
              let fromOrigin = try? OriginID(hex: from), let toOrigin = try? OriginID(hex: to),
              key.utf8.count == 64, signature.utf8.count == 128,
              let keyBytes = Hex.decodeLowercase(key), let signatureBytes = Hex.decodeLowercase(signature) else { return nil }
        self.init(from: OriginKey(origin: fromOrigin, publicKey: keyBytes), to: toOrigin, through: through, signature: signatureBytes)
    }
}
