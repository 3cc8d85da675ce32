import FoundationEssentials

/// The JSON the etcd v3 gateway (grpc-gateway over `etcdserverpb`) reads and writes.
///
/// Field names are the proto field names. Bytes (keys, values) are base64; int64 fields are
/// written as decimal strings and come back as strings; fields at their zero value (0, "",
/// false, empty list) are omitted from replies, so every reply field is optional here.
enum EtcdWire {
    // MARK: Requests

    /// `RangeRequest` (`/v3/kv/range`, and `request_range` in a txn).
    struct RangeRequest: Encodable {
        var key: String
        var range_end: String?
    }

    /// `PutRequest` (`/v3/kv/put`, and `request_put` in a txn).
    struct PutRequest: Encodable {
        var key: String
        var value: String
        var lease: String?
    }

    /// `DeleteRangeRequest` (`/v3/kv/deleterange`, and `request_delete_range` in a txn).
    struct DeleteRangeRequest: Encodable {
        var key: String
    }

    /// One `Compare` of a txn; Kamino only compares `CREATE` (create_revision) with `EQUAL`.
    struct Compare: Encodable {
        var target = "CREATE"
        var result = "EQUAL"
        var key: String
        var create_revision: String
    }

    /// One `RequestOp` of a txn: exactly one field set.
    struct RequestOp: Encodable {
        var request_range: RangeRequest?
        var request_put: PutRequest?
        var request_delete_range: DeleteRangeRequest?
    }

    /// `TxnRequest` (`/v3/kv/txn`).
    struct TxnRequest: Encodable {
        var compare: [Compare]
        var success: [RequestOp]
        var failure: [RequestOp]
    }

    /// `LeaseGrantRequest` (`/v3/lease/grant`); ID 0 lets etcd choose.
    struct LeaseGrantRequest: Encodable {
        var TTL: String
        var ID = "0"
    }

    /// `LeaseKeepAliveRequest` and `LeaseRevokeRequest` (`/v3/lease/keepalive`, `/v3/lease/revoke`).
    struct LeaseIDRequest: Encodable {
        var ID: String
    }

    // MARK: Replies

    /// `ResponseHeader`; only the revision is used.
    struct Header: Decodable {
        var revision: String?
    }

    /// `mvccpb.KeyValue`.
    struct KeyValue: Decodable {
        var key: String?
        var value: String?
        var create_revision: String?
        var mod_revision: String?
        var version: String?
        var lease: String?
    }

    /// `RangeResponse`.
    struct RangeResponse: Decodable {
        var header: Header?
        var kvs: [KeyValue]?
        var count: String?
    }

    /// `PutResponse` (no `prev_kv` requested).
    struct PutResponse: Decodable {
        var header: Header?
    }

    /// `DeleteRangeResponse`.
    struct DeleteRangeResponse: Decodable {
        var header: Header?
        var deleted: String?
    }

    /// One `ResponseOp` of a txn reply.
    struct ResponseOp: Decodable {
        var response_range: RangeResponse?
        var response_put: PutResponse?
        var response_delete_range: DeleteRangeResponse?
    }

    /// `TxnResponse`.
    struct TxnResponse: Decodable {
        var header: Header?
        var succeeded: Bool?
        var responses: [ResponseOp]?
    }

    /// `LeaseGrantResponse`; `error` is set when etcd refused the grant.
    struct LeaseGrantResponse: Decodable {
        var header: Header?
        var ID: String?
        var TTL: String?
        var error: String?
    }

    /// `LeaseKeepAliveResponse` fields (a missing or 0 TTL means the lease is gone).
    struct LeaseKeepAlive: Decodable {
        var header: Header?
        var ID: String?
        var TTL: String?
    }

    /// The keep-alive endpoint is a gRPC stream: each message comes wrapped as `{"result": ...}`
    /// (or `{"error": ...}`).
    struct LeaseKeepAliveStreamMessage: Decodable {
        var result: LeaseKeepAlive?
        var error: GatewayError?
    }

    /// `LeaseRevokeResponse`.
    struct LeaseRevokeResponse: Decodable {
        var header: Header?
    }

    /// The gateway's error body for a non-200 status: `{"error", "message", "code"}` where
    /// `code` is the gRPC status code (5 = NOT_FOUND, 3 = INVALID_ARGUMENT, ...).
    struct GatewayError: Decodable {
        var error: String?
        var message: String?
        var code: Int?
    }
}

extension EtcdWire {
    /// Base64 of a UTF-8 string (keys).
    static func base64(_ text: String) -> String { base64(Array(text.utf8)) }

    /// Base64 of bytes (values, range ends).
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The bytes of a base64 field; a missing field is empty (proto3 omits empty bytes).
    static func bytes(_ field: String?, _ name: String) throws(EtcdError) -> [UInt8] {
        guard let field else { return [] }
        guard let data = Data(base64Encoded: field) else { throw EtcdError(.badResponse, "\(name) is not base64: \(field.prefix(64))") }
        return Array(data)
    }

    /// An int64 field; a missing field is 0 (proto3 omits zeros).
    static func int64(_ field: String?, _ name: String) throws(EtcdError) -> Int64 {
        guard let field else { return 0 }
        guard let value = Int64(field) else { throw EtcdError(.badResponse, "\(name) is not an int64: \(field.prefix(64))") }
        return value
    }

    /// The end of the range holding every key that starts with `prefix`: the prefix with its
    /// last byte below 0xFF incremented (and what follows it dropped); `[0]` (every key) when
    /// no such byte exists, as etcd's `clientv3.GetPrefixRangeEnd` does.
    static func prefixRangeEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    /// Converts a reply's key-value record.
    static func keyValue(_ kv: KeyValue) throws(EtcdError) -> KaminoEtcd.KeyValue {
        let key = try bytes(kv.key, "key")
        return KaminoEtcd.KeyValue(
            key: String(decoding: key, as: UTF8.self),
            value: try bytes(kv.value, "value"),
            createRevision: try int64(kv.create_revision, "create_revision"),
            modRevision: try int64(kv.mod_revision, "mod_revision"),
            version: try int64(kv.version, "version"),
            lease: try int64(kv.lease, "lease"))
    }
}
