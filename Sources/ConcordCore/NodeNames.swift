/// The name people are shown for each origin (docs/audit.md): this node's own incarnations by
/// its name; an origin on the trust roster by the label its operator gave it; another by the
/// node name its signer's newest checkpoint asserts, marked `(self-asserted)` (a name is not
/// proven: another node may use it); none otherwise. One rule for every reader and backend.
public enum NodeNames {
    public static func resolve(
        nodeName: String, own: [OriginID], roster: [TrustedOrigin], checkpointSigners: [OriginID: String]
    ) -> [OriginID: String] {
        var names = checkpointSigners.mapValues { "\($0) (self-asserted)" }
        for trusted in roster { names[trusted.origin] = trusted.label }
        for origin in own { names[origin] = nodeName }
        return names
    }
}
