import HTTPWire
import Leases

/// Why a request body was refused: the field and the rule, for a 400.
package struct BodyError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Reading the JSON bodies of CONTRACT.md "HTTP side channel".
package enum RequestBodies {
    /// `POST /v1/register`: JSON types checked here, value rules by `RegistrationRequest.validated()`.
    package static func registration(_ body: [UInt8]) throws(BodyError) -> RegistrationRequest {
        let members = try object(body)
        var request = RegistrationRequest()
        for (key, value) in members {
            switch key {
            case "service": request.service = try string(value, field: key)
            case "function": request.function = try string(value, field: key)
            case "id": request.id = try string(value, field: key)
            case "address": request.address = try string(value, field: key)
            case "port": request.port = try integer(value, field: key, rule: "an integer 1-65535")
            case "ttl": request.ttl = try integer(value, field: key, rule: "an integer 1-86400 (seconds)")
            case "priority": request.priority = try integer(value, field: key, rule: "an integer 0-65535")
            case "weight": request.weight = try integer(value, field: key, rule: "an integer 0-65535")
            case "meta":
                guard case .object(let entries) = value else {
                    throw BodyError("meta: must be an object of string keys and string values")
                }
                request.meta = try entries.map { (entry) throws(BodyError) -> (String, String) in
                    guard case .string(let text) = entry.value else {
                        throw BodyError("meta: value of \"\(entry.key)\" must be a string")
                    }
                    return (entry.key, text)
                }
            default:
                throw BodyError("\(key): unknown field (expected service, function, address, port, id, ttl, priority, weight, meta)")
            }
        }
        return request
    }

    /// `POST /v1/discover`: `{"service","function"}`.
    package static func discover(_ body: [UInt8]) throws(BodyError) -> FunctionKey {
        let members = try object(body)
        var service: String? = nil
        var function: String? = nil
        for (key, value) in members {
            switch key {
            case "service": service = try string(value, field: key)
            case "function": function = try string(value, field: key)
            default: throw BodyError("\(key): unknown field (expected service, function)")
            }
        }
        guard let rawService = service else { throw BodyError("service: required") }
        guard let rawFunction = function else { throw BodyError("function: required") }
        guard let normalizedService = LabelRules.normalize(rawService) else {
            throw BodyError("service: must be \(LabelRules.ruleDescription)")
        }
        guard let normalizedFunction = LabelRules.normalize(rawFunction) else {
            throw BodyError("function: must be \(LabelRules.ruleDescription)")
        }
        return FunctionKey(service: normalizedService, function: normalizedFunction)
    }

    private static func object(_ body: [UInt8]) throws(BodyError) -> [JSONValue.Member] {
        guard !body.isEmpty else { throw BodyError("body: expected a JSON object") }
        let value: JSONValue
        do throws(JSONError) {
            value = try JSONParser.parse(body)
        } catch {
            throw BodyError("body: invalid JSON: \(error)")
        }
        guard case .object(let members) = value else { throw BodyError("body: expected a JSON object") }
        return members
    }

    private static func string(_ value: JSONValue, field: String) throws(BodyError) -> String {
        guard case .string(let text) = value else { throw BodyError("\(field): must be a string") }
        return text
    }

    /// An integer written as one: CONTRACT.md says numbers in bodies are integers, so `100.0` and `1e2`
    /// are refused like `100.5` rather than read as 100.
    private static func integer(_ value: JSONValue, field: String, rule: String) throws(BodyError) -> Int64 {
        guard case .number(let number) = value, let integer = number.asIntegerLiteral else {
            throw BodyError("\(field): must be \(rule)")
        }
        return Int64(integer)
    }
}
