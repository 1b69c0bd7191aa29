import ConcordCore

/// The three calls of late openings, as a node sees its peer (docs/sync-protocol.md, "Openings").
/// The HTTP client is one; the simulation's in-memory network another.
public protocol OpeningsPeer: Sendable {
    /// `GET /v1/stubs?since=CURSOR`: one page of the events the peer holds as stubs.
    func stubs(since: Int64) async throws -> SyncWire.StubsPage
    /// `POST /v1/openings/pull`: openings of this node's stubs that the peer may share with it.
    func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd)
    /// `POST /v1/openings/push`: openings of the peer's stubs, offered.
    func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult
}

/// Late openings, both ways, after a sync session (docs/sync-protocol.md, "Openings").
///
/// Asking: the node asks the peer for the openings of the stubs it stored since it last asked,
/// or of every stub it holds when the peer's openings number moved (its rules changed, or it
/// stored openings late). Offering: the node offers the openings its rules grant of the stubs
/// the peer stored since it last offered (the peer's stubs cursor moved), or of every stub the
/// peer holds when its own openings number moved. Cost: nothing when no number or cursor moved;
/// otherwise the stubs concerned, listed, and the openings newly shared, sent.
public struct OpeningsReconciler: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var received = 0
        public var sent = 0
        public var requests = 0
    }

    public let local: any SyncBackend
    public let peerName: String
    public let budget: BatchBudget

    public init(local: any SyncBackend, peerName: String, budget: BatchBudget) {
        self.local = local
        self.peerName = peerName
        self.budget = budget
    }

    /// - Parameters:
    ///   - remoteOpenings, remoteStubs: the peer's openings number and stubs cursor, from its last
    ///     end line (nil: not known; then that direction runs as if they had moved).
    ///   - ask, offer: which directions to run (a pull-only sync does not offer).
    public func run(with peer: some OpeningsPeer, remoteOpenings: UInt64?, remoteStubs: Int64?, ask: Bool, offer: Bool) async throws -> Outcome {
        var outcome = Outcome()
        let before = try await local.openingsState(with: peerName)
        var state = before
        if ask {
            // Every stub when the peer's rules or openings changed; else only stubs new since.
            let everything = remoteOpenings == nil || remoteOpenings != before.peerOpenings
            state.askedThrough = try await askForOpenings(peer, since: everything ? 0 : before.askedThrough, &outcome)
            if let remoteOpenings { state.peerOpenings = remoteOpenings }
        }
        if offer {
            let mine = try await local.openingsGeneration()
            if mine != before.ownOpenings {
                try await offerOpenings(peer, since: 0, &outcome)
                state.ownOpenings = mine
                state.peerStubsThrough = remoteStubs ?? 0
            } else if remoteStubs == nil || remoteStubs != before.peerStubsThrough {
                try await offerOpenings(peer, since: before.peerStubsThrough, &outcome)
                state.peerStubsThrough = remoteStubs ?? 0
            }
        }
        if state != before { try await local.recordOpeningsState(state, with: peerName) }
        if outcome.received > 0 { try await local.catchUpReadModels() }
        return outcome
    }

    /// Asks for the openings of the stubs stored after `since`; returns the cursor reached.
    private func askForOpenings(_ peer: some OpeningsPeer, since start: Int64, _ outcome: inout Outcome) async throws -> Int64 {
        var since = start
        while true {
            let page = try await local.withheld(storedAfter: since, limit: SyncWire.maxStubsPerPage)
            var pending = page.ranges[...]
            while !pending.isEmpty {
                let (events, end) = try await peer.pullOpenings(SyncWire.OpeningsRequest(stubs: Array(pending), budget: budget))
                outcome.requests += 1
                if !events.isEmpty { outcome.received += try await local.storeOpenings(events, from: peerName).stored }
                // With more to come, ask again for what lies after the last opening sent; a peer
                // whose "more" moves nothing on is not asked again.
                guard end.more, let last = events.last else { break }
                let before = (pending.count, pending.first?.first)
                while let first = pending.first, first.origin < last.origin || (first.origin == last.origin && first.last <= last.seq) {
                    pending.removeFirst()
                }
                if let first = pending.first, first.origin == last.origin, first.first <= last.seq {
                    pending[pending.startIndex].first = last.seq + 1
                }
                guard (pending.count, pending.first?.first) != before else { break }
            }
            since = page.through
            guard page.more else { return since }
        }
    }

    /// Offers the openings of the peer's stubs stored after `since` that this node's rules grant.
    private func offerOpenings(_ peer: some OpeningsPeer, since start: Int64, _ outcome: inout Outcome) async throws {
        let view = SharedView(source: local, policy: try await local.sharingPolicy(for: peerName))
        var batch: [Event] = []
        var bytes = 0
        func flush() async throws {
            guard !batch.isEmpty else { return }
            outcome.sent += try await peer.pushOpenings(batch).stored
            outcome.requests += 1
            batch.removeAll()
            bytes = 0
        }
        let vector = try await local.versionVector()
        var since = start
        while true {
            let page = try await peer.stubs(since: since)
            outcome.requests += 1
            guard SyncWire.eventCount(of: page.stubs) <= UInt64(SyncWire.maxStubsPerPage) else {
                throw ConcordError(.peer, "the peer's stubs page covers more than \(SyncWire.maxStubsPerPage) events, the most a page may list")
            }
            for range in page.stubs {
                // Read in slices, so that a wide range costs memory only for what is sent; only
                // what this node holds.
                let last = min(range.last, vector[range.origin])
                var from = range.first - 1
                while from < last {
                    let through = min(last, from + 1000)
                    for event in try await view.events(of: range.origin, after: from, through: through) where event.disclosure == .full && event.commitment != nil {
                        let weight = event.exchangeLineBytes
                        if batch.count >= budget.maxEvents || bytes + weight > budget.maxBytes { try await flush() }
                        batch.append(event)
                        bytes += weight
                    }
                    from = through
                }
            }
            // A page must move the cursor on: a peer that answers "more" without doing so is not followed.
            guard page.more, page.through > since else { break }
            since = page.through
        }
        try await flush()
    }
}
