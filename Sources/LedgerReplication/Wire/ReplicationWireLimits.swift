/// Sizes and limits of the node-to-node protocol (docs/replication.md, "Limits").
package enum ReplicationWireLimits {
    /// Size of the fixed frame header in bytes.
    package static let headerSize = 32
    /// Largest body: 8 MiB of records plus 64 KiB of room for the rest.
    package static let maxBodySize = (8 << 20) + (64 << 10)
    /// Largest string (node id, address, message), in UTF-8 bytes.
    package static let maxStringBytes = 1024
    /// Most entries in an epoch history.
    package static let maxHistoryEntries = 4096
    /// Largest token in a `hello` (the client port's `authenticate` limit too).
    package static let maxTokenBytes = 16 << 10
    /// Most snapshot bytes in one `snapshot_chunk`.
    package static let maxSnapshotChunkBytes = 4 << 20
}
