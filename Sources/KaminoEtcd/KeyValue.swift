/// One key as etcd stores it (`mvccpb.KeyValue`), with its revisions.
package struct KeyValue: Sendable, Hashable {
    /// The key (etcd keys are bytes; Kamino only uses UTF-8 keys).
    package var key: String
    /// The value's bytes.
    package var value: [UInt8]
    /// The revision of the put that created the key; it changes only when the key is deleted
    /// and created again, so it identifies one "incarnation" of a leader key.
    package var createRevision: Int64
    /// The revision of the last put to the key.
    package var modRevision: Int64
    /// How many puts the key has had since it was created (1 after the create).
    package var version: Int64
    /// The lease the key is attached to, 0 for none.
    package var lease: Int64

    /// Creates a key-value record.
    package init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}
