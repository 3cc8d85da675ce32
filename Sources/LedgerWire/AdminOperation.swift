/// Kamino's own operations, outside the ledger's `Operation` codes: they ask a node about
/// its place in a replicated cluster (docs/protocol.md, "Operations").
///
/// Their requests have no events and an empty body; their replies have `event_count` 0
/// and a UTF-8 JSON object as body.
package enum AdminOperation: UInt8, Sendable, CaseIterable {
    /// The node's role, epoch, LSNs and followers.
    case status = 200
    /// Makes a follower the primary.
    case promote = 201
    /// The state digest of the ledger as it is now, with the LSN it covers (compares
    /// replicas live; it reads the whole state, so it is not for monitoring loops).
    case digest = 202
    /// Presents a token (a JWT) for this connection; with authentication on, nothing else
    /// is accepted before it. Unlike the others its request carries a body: the token.
    case authenticate = 203
}
