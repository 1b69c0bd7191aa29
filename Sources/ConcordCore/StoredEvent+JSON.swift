extension StoredEvent {
    /// The event as one JSON object, the line format of `concord log --json` (docs/cli.md).
    /// `data` is the canonical payload itself, not a string.
    public var jsonLine: String {
        var json = JSONObjectWriter()
        json.field("position", position)
        json.field("origin", event.origin.hex)
        json.field("seq", event.seq)
        json.field("stream", event.stream.rawValue)
        json.field("streamVersion", streamVersion)
        json.field("type", event.type.rawValue)
        json.field("schemaVersion", event.schemaVersion)
        json.field("hlc", rawJSON: "{\"wallMillis\":\(event.hlc.wallMillis),\"counter\":\(event.hlc.counter)}")
        json.field("recordedAt", Timestamp.iso8601(millis: event.recordedAt))
        json.field("occurredAt", Timestamp.iso8601(millis: event.occurredAt))
        json.field("actor", event.actor)
        json.field("causationId", event.causationID)
        json.field("correlationId", event.correlationID)
        json.field("prev", strings: event.prev.map(\.description))
        json.field("data", rawJSON: event.payload)
        json.field("prevHash", event.prevHash.hex)
        json.field("hash", event.hash.hex)
        json.field("format", UInt64(event.format))
        json.field("disclosure", event.disclosure == .full ? "full" : event.disclosure == .withheld ? "withheld" : "erased")
        return json.finish()
    }
}
