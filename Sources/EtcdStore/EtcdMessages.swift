import HTTPWire

/// The requests Beacon sends to etcd's v3 JSON gateway and the parts of the replies it reads.
///
/// proto3 JSON: 64-bit integers (revisions, lease ids, TTLs) arrive as strings, `bytes` fields
/// (keys, values) as base64, and fields holding their zero value are left out, so a lease that has
/// run out shows no `TTL` at all and a PUT event has no `type`. Decoders therefore treat a missing
/// number as 0 and accept both `"5"` and `5`.
package enum EtcdRequest {
    /// A put with `prev_kv` and no lease (instance keys: their life is vouched for by cover leases).
    package static func put(key: String, value: [UInt8]) -> JSONValue {
        ["key": .string(Base64.encode(key)), "value": .string(Base64.encode(value)), "prev_kv": true]
    }

    /// Deletes `key` only while its `mod_revision` is still `revision` (a newer registration wins).
    package static func deleteIfUnchanged(_ key: String, revision: Int64) -> JSONValue {
        let encoded = JSONValue.string(Base64.encode(key))
        return [
            "compare": [["key": encoded, "target": "MOD", "result": "EQUAL", "mod_revision": .string(String(revision))]],
            "success": [["request_delete_range": ["key": encoded]]],
        ]
    }

    /// Every key starting with `prefix`.
    package static func range(prefix: String, countOnly: Bool = false) -> JSONValue {
        var members: [JSONValue.Member] = [
            ("key", .string(Base64.encode(prefix))), ("range_end", .string(Base64.encode(rangeEnd(prefix: prefix)))),
        ]
        if countOnly { members.append(("count_only", true)) }
        return .object(members)
    }

    /// One page of a read of every key under `prefix`, from key `from` on, at `revision` (0: the
    /// current one; later pages pass the first page's, so all pages form one snapshot).
    package static func rangePage(from: [UInt8], prefix: String, limit: Int, revision: Int64) -> JSONValue {
        var members: [JSONValue.Member] = [
            ("key", .string(Base64.encode(from))), ("range_end", .string(Base64.encode(rangeEnd(prefix: prefix)))),
            ("limit", .string(String(limit))),
        ]
        if revision != 0 { members.append(("revision", .string(String(revision)))) }
        return .object(members)
    }

    /// Exactly one key.
    package static func key(_ key: String) -> JSONValue { ["key": .string(Base64.encode(key))] }

    package static func deleteKey(_ key: String) -> JSONValue {
        ["key": .string(Base64.encode(key)), "prev_kv": true]
    }

    package static func grant(ttl: UInt32) -> JSONValue { ["TTL": .string(String(ttl))] }

    /// Time-to-live takes just the lease id.
    package static func lease(_ id: Int64) -> JSONValue { ["ID": .string(String(id))] }

    /// A put without `prev_kv` (renewal markers: nothing is read back).
    package static func plainPut(key: String, value: [UInt8], lease: Int64) -> JSONValue {
        ["key": .string(Base64.encode(key)), "value": .string(Base64.encode(value)), "lease": .string(String(lease))]
    }

    /// A watch on every key under `prefix` from `startRevision` on.
    package static func watch(prefix: String, startRevision: Int64) -> JSONValue {
        [
            "create_request": [
                "key": .string(Base64.encode(prefix)),
                "range_end": .string(Base64.encode(rangeEnd(prefix: prefix))),
                "start_revision": .string(String(startRevision)),
            ]
        ]
    }

    /// The first key after every key that starts with `prefix`: its last byte plus one (etcd's
    /// `clientv3.GetPrefixRangeEnd`; Beacon's prefixes end in `/`, so no carry is needed).
    package static func rangeEnd(prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }
}

/// One key as etcd reports it.
package struct EtcdKeyValue: Equatable, Sendable {
    package var key: String
    package var value: [UInt8]
    package var modRevision: Int64
    /// The revision that created the key: it names one life of an instance key in renewal markers
    /// (a re-registration keeps it; a delete and a new registration do not).
    package var createRevision: Int64
    package var lease: Int64

    package init(key: String, value: [UInt8], modRevision: Int64, createRevision: Int64? = nil, lease: Int64) {
        self.key = key
        self.value = value
        self.modRevision = modRevision
        self.createRevision = createRevision ?? modRevision
        self.lease = lease
    }

    init(json: JSONValue) throws(EtcdError) {
        guard let rawKey = json["key"]?.stringValue, let key = Base64.decodeString(rawKey) else {
            throw .malformed("kv without a readable key")
        }
        self.key = key
        let rawValue = json["value"]?.stringValue ?? ""
        guard let value = Base64.decode(rawValue) else { throw .malformed("value of \(key) is not base64") }
        self.value = value
        modRevision = try EtcdReply.int64(json["mod_revision"], "mod_revision")
        let created = try EtcdReply.int64(json["create_revision"], "create_revision")
        createRevision = created > 0 ? created : modRevision
        lease = try EtcdReply.int64(json["lease"], "lease")
    }
}

/// A watch event: a put (new or changed key) or a delete (including etcd's deletes for ended leases).
package enum EtcdEvent: Equatable, Sendable {
    case put(EtcdKeyValue)
    case delete(key: String, revision: Int64)
}

/// One message of a watch stream.
package struct EtcdWatchMessage: Equatable, Sendable {
    package var created = false
    package var canceled = false
    /// Non-zero when the requested start revision was compacted away: the mirror must re-read.
    package var compactRevision: Int64 = 0
    package var cancelReason = ""
    package var events: [EtcdEvent] = []

    package init() {}
}

/// Decoders for gateway replies.
package enum EtcdReply {
    /// A proto3 JSON int64: a string of digits, a plain number, or absent (zero).
    static func int64(_ value: JSONValue?, _ field: String) throws(EtcdError) -> Int64 {
        switch value {
        case nil, .null?: return 0
        case .string(let text)?:
            guard let number = Int64(text) else { throw .malformed("\(field) is not an integer: \(text)") }
            return number
        case .number(let number)?:
            guard let integer = number.asExactInt else { throw .malformed("\(field) is not an integer") }
            return Int64(integer)
        default: throw .malformed("\(field) is not an integer")
        }
    }

    package static func revision(_ reply: JSONValue) throws(EtcdError) -> Int64 {
        try int64(reply["header"]?["revision"], "header.revision")
    }

    /// `/v3/kv/range`: the keys, the store revision they were read at, and whether a `limit` left more.
    package static func range(_ reply: JSONValue) throws(EtcdError) -> (kvs: [EtcdKeyValue], revision: Int64, more: Bool) {
        var kvs: [EtcdKeyValue] = []
        for item in reply["kvs"]?.arrayValue ?? [] { kvs.append(try EtcdKeyValue(json: item)) }
        return (kvs, try revision(reply), reply["more"]?.boolValue ?? false)
    }

    /// `/v3/lease/grant`: the lease id and the TTL etcd granted (it raises TTLs below its minimum).
    package static func grant(_ reply: JSONValue) throws(EtcdError) -> (id: Int64, ttl: Int64) {
        if let error = reply["error"]?.stringValue, !error.isEmpty { throw .rejected(status: 200, message: error) }
        let id = try int64(reply["ID"], "ID")
        guard id != 0 else { throw .malformed("lease grant without an ID") }
        return (id, try int64(reply["TTL"], "TTL"))
    }

    /// `/v3/kv/put` with `prev_kv`: the revision of the write and the key's create revision (the
    /// replaced key's, or this write's for a new key).
    package static func put(_ reply: JSONValue) throws(EtcdError) -> (revision: Int64, createRevision: Int64) {
        let revision = try revision(reply)
        let previous = try reply["prev_kv"].map { (value) throws(EtcdError) in
            try int64(value["create_revision"], "prev_kv.create_revision")
        }
        return (revision, previous.flatMap { $0 > 0 ? $0 : nil } ?? revision)
    }

    /// `/v3/kv/txn`: the revision, and whether the comparison held (the success branch ran).
    package static func txn(_ reply: JSONValue) throws(EtcdError) -> (revision: Int64, succeeded: Bool) {
        (try revision(reply), reply["succeeded"]?.boolValue ?? false)
    }

    /// `/v3/kv/deleterange` with `prev_kv`: the revision, and the deleted key (nil when nothing was deleted).
    package static func delete(_ reply: JSONValue) throws(EtcdError) -> (revision: Int64, deleted: EtcdKeyValue?) {
        let count = try int64(reply["deleted"], "deleted")
        guard count > 0, let previous = reply["prev_kvs"]?[0] else { return (try revision(reply), nil) }
        return (try revision(reply), try EtcdKeyValue(json: previous))
    }

    /// `/v3/lease/timetolive`: whole seconds left (rounded down by etcd; -1 when the lease is gone)
    /// and the TTL it was granted with.
    package static func timeToLive(_ reply: JSONValue) throws(EtcdError) -> (remaining: Int64, granted: Int64) {
        (try int64(reply["TTL"], "TTL"), try int64(reply["grantedTTL"], "grantedTTL"))
    }

    /// One line of a `/v3/watch` stream.
    package static func watch(_ message: JSONValue) throws(EtcdError) -> EtcdWatchMessage {
        guard let result = message["result"] else {
            let text = message["error"]?["message"]?.stringValue ?? message["error"]?.stringValue ?? "no result"
            throw .rejected(status: 200, message: "watch: \(text)")
        }
        var decoded = EtcdWatchMessage()
        decoded.created = result["created"]?.boolValue ?? false
        decoded.canceled = result["canceled"]?.boolValue ?? false
        decoded.compactRevision = try int64(result["compact_revision"], "compact_revision")
        decoded.cancelReason = result["cancel_reason"]?.stringValue ?? ""
        for event in result["events"]?.arrayValue ?? [] {
            guard let kv = event["kv"] else { throw .malformed("watch event without kv") }
            switch event["type"]?.stringValue ?? "PUT" {
            case "PUT": decoded.events.append(.put(try EtcdKeyValue(json: kv)))
            case "DELETE":
                guard let rawKey = kv["key"]?.stringValue, let key = Base64.decodeString(rawKey) else {
                    throw .malformed("delete event without a readable key")
                }
                decoded.events.append(.delete(key: key, revision: try int64(kv["mod_revision"], "mod_revision")))
            case let other: throw .malformed("unknown watch event type \(other)")
            }
        }
        return decoded
    }
}

/// Why an etcd call failed.
package enum EtcdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No endpoint answered (connection refused, timeout, or every member said it cannot serve).
    case unreachable(String)
    /// etcd answered with an error: HTTP status and etcd's message.
    case rejected(status: Int, message: String)
    /// The reply was not what the gateway sends.
    case malformed(String)

    package var description: String {
        switch self {
        case .unreachable(let text): text
        case .rejected(let status, let message): "\(message) (HTTP \(status))"
        case .malformed(let text): "unexpected reply: \(text)"
        }
    }
}
