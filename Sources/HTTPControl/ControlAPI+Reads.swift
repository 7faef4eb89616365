import Primitives
import HTTPWire
import Leases

/// Reads: a function, every service, one instance, and blocking queries on them, rendered as JSON.
extension ControlAPI {
    func functionQuery(service: String, function: String, request: HTTPRequest) -> Outcome {
        guard let service = LabelRules.normalize(service) else {
            return .respond(HTTPResponse.error(status: 400, message: "service: must be \(LabelRules.ruleDescription)"))
        }
        guard let function = LabelRules.normalize(function) else {
            return .respond(HTTPResponse.error(status: 400, message: "function: must be \(LabelRules.ruleDescription)"))
        }
        return blockingQuery(FunctionKey(service: service, function: function), request: request)
    }

    /// Answers at once, or parks until the index passes `?index=N` (for at most `?wait=`).
    func blockingQuery(_ key: FunctionKey, request: HTTPRequest) -> Outcome {
        guard let indexText = request.queryValue("index") else {
            if request.queryValue("wait") != nil {
                return .respond(HTTPResponse.error(status: 400, message: "wait: needs index (a blocking query)"))
            }
            return .respond(watchResponse(key))
        }
        guard let index = UInt64(indexText) else {
            return .respond(HTTPResponse.error(status: 400, message: "index: must be a non-negative integer"))
        }
        var wait = Self.defaultWaitMilliseconds
        if let waitText = request.queryValue("wait") {
            guard let parsed = parseWaitMilliseconds(waitText), parsed <= Self.maximumWaitMilliseconds else {
                return .respond(
                    HTTPResponse.error(
                        status: 400, message: "wait: must be a duration such as 500ms, 30s or 5m, at most 10m"))
            }
            wait = parsed
        }
        // An index above the table's own was handed out before a reset (a restart without a data
        // directory): answer at once, so the watcher starts over from the index it gets now.
        let (current, highest) = registry.read {
            (key == .allServices ? $0.lastIndex : $0.index(of: key), $0.lastIndex)
        }
        if current > index || index > highest || wait == 0 { return .respond(watchResponse(key)) }
        return .watch(key: key, afterIndex: index, waitMilliseconds: wait)
    }

    /// The index a watch on `key` compares with: the function's, or the table's for `.allServices`.
    package func currentIndex(_ key: FunctionKey) -> UInt64 {
        key == .allServices ? registry.read { $0.lastIndex } : registry.read { $0.index(of: key) }
    }

    /// What a watch on `key` answers with.
    package func watchResponse(_ key: FunctionKey) -> HTTPResponse {
        key == .allServices ? servicesResponse() : functionResponse(key)
    }

    /// The live instances of a function, as `GET /v1/services/{service}/{function}` answers.
    package func functionResponse(_ key: FunctionKey) -> HTTPResponse {
        let now = clock()
        let (entry, index) = registry.entryAndIndex(key)
        let live = entry?.live(at: now) ?? []
        let ttl =
            live.map(\.deadline).min().map {
                TTLPolicy.answerTTL(earliestDeadline: $0, now: now, maxTTL: settings.maxTTL)
            } ?? settings.negativeTTL
        return json(200) { writer in
            writer.field("service", key.service)
            writer.field("function", key.function)
            writer.field("index", Int(clamping: index))
            writer.field("ttl", Int(ttl))
            writer.field("instances") { array in
                array.array { array in
                    for instance in live { Self.writeInstance(instance, now: now, full: false, into: &array) }
                }
            }
        }
    }

    func servicesResponse() -> HTTPResponse {
        let now = clock()
        // Entries are copied out under the lock (one pointer per function) and counted outside it:
        // the DNS threads share that lock.
        let (entries, index) = registry.functionEntries()
        let summary = LeaseSummary.of(entries, now: now)
        return json(200) { writer in
            writer.field("index", Int(clamping: index))
            writer.field("services") { array in
                array.array { array in
                    for service in summary {
                        array.object { object in
                            object.field("service", service.service)
                            object.field("functions") { functions in
                                functions.array { functions in
                                    for function in service.functions {
                                        functions.object {
                                            $0.field("function", function.function)
                                            $0.field("instances", function.instances)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func instanceResponse(id rawID: String) -> HTTPResponse {
        let now = clock()
        guard let id = LabelRules.normalize(rawID), let instance = registry.instance(id: id, now: now) else {
            return HTTPResponse.error(status: 404, message: "no live instance with id \(rawID)")
        }
        return json(200) { Self.writeObjectFields(instance, now: now, full: true, into: &$0) }
    }

    static func writeInstance(_ instance: Instance, now: Instant, full: Bool, into writer: inout JSONWriter) {
        writer.object { writeObjectFields(instance, now: now, full: full, into: &$0) }
    }

    static func writeObjectFields(_ instance: Instance, now: Instant, full: Bool, into writer: inout JSONWriter) {
        let spec = instance.spec
        writer.field("id", spec.id)
        if full {
            writer.field("service", spec.service)
            writer.field("function", spec.function)
        }
        writer.field("address", spec.address.description)
        writer.field("port", Int(spec.port))
        if full { writer.field("ttl", Int(spec.ttl)) }
        writer.field("priority", Int(spec.priority))
        writer.field("weight", Int(spec.weight))
        writer.field("meta") { meta in
            meta.object { object in
                for entry in spec.meta { object.field(entry.key, entry.value) }
            }
        }
        writer.field("expires_in", rounded(max(0, instance.deadline.seconds(since: now))))
    }
}
