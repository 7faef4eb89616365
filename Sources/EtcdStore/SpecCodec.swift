import Primitives
import HTTPWire
import Leases

/// How an instance is stored in etcd: key `/beacon/v1/instances/<id>`, value the spec as JSON.
///
/// The value uses the field names of `POST /v1/register` and is read back through
/// `RegistrationRequest.validated()`, so a key written by hand (or by a future version) is held
/// to exactly the rules an HTTP registration is.
///
/// A value also holds `"cover"`: the id of the cover lease (`RenewalMarker`) the registration is alive
/// under; other nodes take its deadline from that lease, read once for many registrations. A value
/// without one is mirrored but answered only while a renewal marker vouches for it.
package enum SpecCodec {
    /// Everything Beacon keeps in etcd (the watch covers it all).
    package static let rootPrefix = "/beacon/v1/"
    package static let prefix = "/beacon/v1/instances/"

    package static func key(id: String) -> String { prefix + id }

    /// The id in `key`, or nil when the key is not an instance key.
    package static func id(key: String) -> String? {
        guard key.hasPrefix(prefix) else { return nil }
        let id = String(key.dropFirst(prefix.count))
        return LabelRules.normalize(id) == id ? id : nil
    }

    package static func encode(_ spec: InstanceSpec, cover: Int64? = nil) -> [UInt8] {
        var meta: [JSONValue.Member] = []
        for entry in spec.meta { meta.append((entry.key, .string(entry.value))) }
        var members: [JSONValue.Member] = [
            ("service", .string(spec.service)), ("function", .string(spec.function)), ("id", .string(spec.id)),
            ("address", .string(spec.address.description)), ("port", .number(JSONNumber(Int(spec.port)))),
            ("ttl", .number(JSONNumber(Int(spec.ttl)))), ("priority", .number(JSONNumber(Int(spec.priority)))),
            ("weight", .number(JSONNumber(Int(spec.weight)))), ("meta", .object(meta)),
        ]
        if let cover { members.append(("cover", .string(String(cover)))) }
        return JSONValue.object(members).serialized()
    }

    /// Reads a value back; the error says what was wrong, for the log.
    package static func decode(_ bytes: [UInt8], id: String) -> Result<InstanceSpec, SpecDecodeError> {
        decodeWithCover(bytes, id: id).map(\.spec)
    }

    /// Reads a value back with the cover lease it names, if any (one that is not a decimal id is ignored).
    package static func decodeWithCover(_ bytes: [UInt8], id: String)
        -> Result<(spec: InstanceSpec, cover: Int64?), SpecDecodeError>
    {
        let value: JSONValue
        do throws(JSONError) {
            value = try JSONParser.parse(bytes)
        } catch {
            return .failure(SpecDecodeError("not JSON: \(error)"))
        }
        guard case .object(let members) = value else { return .failure(SpecDecodeError("not a JSON object")) }
        var request = RegistrationRequest()
        var cover: Int64?
        for (key, field) in members {
            switch (key, field) {
            case ("cover", .string(let text)): cover = Int64(text).flatMap { $0 > 0 ? $0 : nil }
            case ("service", .string(let text)): request.service = text
            case ("function", .string(let text)): request.function = text
            case ("id", .string(let text)): request.id = text
            case ("address", .string(let text)): request.address = text
            case ("port", .number(let number)): request.port = number.asExactInt.map(Int64.init) ?? -1
            case ("ttl", .number(let number)): request.ttl = number.asExactInt.map(Int64.init) ?? -1
            case ("priority", .number(let number)): request.priority = number.asExactInt.map(Int64.init) ?? -1
            case ("weight", .number(let number)): request.weight = number.asExactInt.map(Int64.init) ?? -1
            case ("meta", .object(let entries)):
                for entry in entries {
                    guard case .string(let text) = entry.value else {
                        return .failure(SpecDecodeError("meta value of \(entry.key) is not a string"))
                    }
                    request.meta.append((entry.key, text))
                }
            default:
                // Unknown fields are skipped, so a later version may add some; known ones must have their type.
                if ["service", "function", "id", "address", "port", "ttl", "priority", "weight", "meta"].contains(key) {
                    return .failure(SpecDecodeError("\(key) has the wrong JSON type"))
                }
            }
        }
        let spec: InstanceSpec
        do throws(LeaseError) {
            spec = try request.validated()
        } catch {
            return .failure(SpecDecodeError(error.description))
        }
        guard spec.id == id else { return .failure(SpecDecodeError("id \(spec.id) does not match its key (\(id))")) }
        return .success((spec, cover))
    }
}

package struct SpecDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
