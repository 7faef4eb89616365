import HTTPControl
import HTTPWire
import Leases
/// Fuzz entry point for registration bodies: JSON parsing, field types and the contract's value
/// rules. Anything accepted must be a spec within every bound.
package func fuzzRegistrationBody(_ bytes: [UInt8]) {
    guard let request = try? RequestBodies.registration(bytes), let spec = try? request.validated() else {
        _ = try? RequestBodies.discover(bytes)
        return
    }
    precondition(spec.port >= 1 && spec.ttl >= 1 && spec.ttl <= InstanceSpec.maximumTTL, "a bound was not enforced")
    precondition(LabelRules.normalize(spec.service) == spec.service, "service not normalized")
    for entry in spec.meta { precondition(entry.publishedLength <= 255, "meta longer than a character-string") }
}
