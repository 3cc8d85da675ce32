extension LedgerTCPServer {
    /// Records a follower refused on the replication port (a missing, refused or
    /// insufficient token) in this server's audit log (`event=replication_auth_failed`)
    /// and `kamino_replication_auth_failures_total{reason}`, like the client port's
    /// refusals (docs/security.md, "Replication").
    package func followerRefused(peer: String, subject: String?, reason: String, detail: String) {
        let security = shared.security
        security.metrics.replicationAuthFailed(reason: reason)
        security.audit.record("replication_auth_failed", peer: peer, subject: subject, detail: "\(reason): \(detail)")
    }
}
