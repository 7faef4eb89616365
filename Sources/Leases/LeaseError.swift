/// Why the table refused a mutation. Each case names the field or limit, for the HTTP error body.
package enum LeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field broke its rule: the field name and the rule, e.g. ("port", "an integer 1-65535").
    case invalidField(field: String, rule: String)
    /// A required field is absent.
    case missingField(String)
    /// The table holds its maximum number of instances.
    case tooManyInstances(limit: Int)
    /// The function holds its maximum number of instances.
    case tooManyInstancesInFunction(limit: Int)
    /// No live instance has this id.
    case unknownInstance(String)
    /// The id is live in `service`, which the caller's token may not write (403).
    case ownedByAnotherService(id: String, service: String)

    package var description: String {
        switch self {
        case .invalidField(let field, let rule): "\(field): must be \(rule)"
        case .missingField(let field): "\(field): required"
        case .tooManyInstances(let limit): "instance limit reached (\(limit) instances, --max-instances)"
        case .tooManyInstancesInFunction(let limit):
            "instance limit per function reached (\(limit) instances, --max-instances-per-function)"
        case .unknownInstance(let id): "no live instance with id \(id)"
        case .ownedByAnotherService(let id, let service):
            "id \(id) belongs to service \(service), which this token may not write"
        }
    }
}
