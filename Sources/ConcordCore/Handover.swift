/// A signed handover from one incarnation of a node to the next: the earlier origin's key signs
/// the later origin's id, while that key is still at hand (a store moved, copied or restored
/// keeps its key file beside it). It lets the later incarnation erase what the earlier one
/// recorded: an erasure carries the handovers that link each origin it names to its own
/// (`Erasure`), so every node decides from the erasure alone, as for any erasure.
///
/// Signed bytes: the ASCII text `concord-handover-1`, a zero byte, the earlier origin's id in
/// hex, a zero byte, the later origin's id in hex. The earlier origin's public key travels with
/// it, and must hash to that origin (as every key must).
public struct Handover: Sendable, Hashable {
    /// The earlier incarnation: its origin and public key.
    public var from: OriginKey
    /// The later incarnation's origin.
    public var to: OriginID
    /// Ed25519, by `from`'s key, over `signedBytes`.
    public var signature: [UInt8]

    public init(from: OriginKey, to: OriginID, signature: [UInt8]) {
        self.from = from
        self.to = to
        self.signature = signature
    }

    /// The handover `key` signs to `successor`.
    public static func sign(by key: NodeKey, to successor: OriginID) -> Handover {
        Handover(from: key.originKey, to: successor, signature: key.sign(signedBytes(from: key.origin, to: successor)))
    }

    public static func signedBytes(from: OriginID, to: OriginID) -> [UInt8] {
        Array("concord-handover-1".utf8) + [0] + Array(from.hex.utf8) + [0] + Array(to.hex.utf8)
    }

    /// True when the key hashes to `from`'s origin, the signature verifies with it, and the
    /// handover is not to the origin itself.
    public var isValid: Bool {
        from.keyMatchesOrigin && from.origin != to && from.isValidSignature(signature, for: Self.signedBytes(from: from.origin, to: to))
    }

    /// The origins `handovers` link to `origin`: those from which a chain of valid handovers
    /// leads to it (not `origin` itself).
    public static func predecessors(of origin: OriginID, in handovers: [Handover]) -> Set<OriginID> {
        var reached: Set<OriginID> = [origin]
        var changed = true
        while changed {
            changed = false
            for handover in handovers where handover.isValid && reached.contains(handover.to) && !reached.contains(handover.from.origin) {
                reached.insert(handover.from.origin)
                changed = true
            }
        }
        reached.remove(origin)
        return reached
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

    /// `{"from": ORIGIN, "key": HEX, "signature": HEX, "to": ORIGIN}`: as an erasure carries it.
    public var json: JSONValue {
        .object([
            "from": .string(from.origin.hex), "key": .string(Hex.encode(from.publicKey)),
            "signature": .string(Hex.encode(signature)), "to": .string(to.hex),
        ])
    }

    /// A handover as `json` wrote it; nil for anything else.
    public init?(json: JSONValue) {
        guard case .object(let fields) = json, fields.count == 4,
              case .string(let from)? = fields["from"], case .string(let key)? = fields["key"],
              case .string(let signature)? = fields["signature"], case .string(let to)? = fields["to"],
              let fromOrigin = try? OriginID(hex: from), let toOrigin = try? OriginID(hex: to),
              key.utf8.count == 64, signature.utf8.count == 128,
              let keyBytes = Hex.decodeLowercase(key), let signatureBytes = Hex.decodeLowercase(signature) else { return nil }
        self.init(from: OriginKey(origin: fromOrigin, publicKey: keyBytes), to: toOrigin, signature: signatureBytes)
    }
}
