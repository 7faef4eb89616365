import Primitives
import DNSWire
import Leases
import TestSupport
import Testing

/// `RegistrationRequest.validated()` against every rule of CONTRACT "Names", with the exact
/// `LeaseError` (the HTTP layer turns it into the 400 body that names the field).
@Suite struct ValidationTests {
    static let labelRule = LabelRules.ruleDescription
    static let base = RegistrationRequest(
        service: "orders", function: "create", id: "i1", address: "10.0.0.1", port: 8080)

    /// The base request with one change.
    static func request(_ change: (inout RegistrationRequest) -> Void) -> RegistrationRequest {
        var request = base
        change(&request)
        return request
    }

    static func error(_ request: RegistrationRequest) -> LeaseError? {
        do {
            _ = try request.validated()
            return nil
        } catch {
            return error
        }
    }

    static let sixtyThree = String(repeating: "a", count: 63)
    static let sixtyFour = String(repeating: "a", count: 64)

    // MARK: - Labels

    struct LabelCase: Sendable, CustomStringConvertible {
        var field: String
        var value: String
        var normalized: String?  // nil: rejected
        var description: String { "\(field)=\"\(value)\"" }
    }

    static let labelCases: [LabelCase] = ["service", "function", "id"].flatMap { field in
        [
            LabelCase(field: field, value: "Orders-EU1", normalized: "orders-eu1"),
            LabelCase(field: field, value: "a", normalized: "a"),
            LabelCase(field: field, value: "0", normalized: "0"),
            LabelCase(field: field, value: "a-b", normalized: "a-b"),
            LabelCase(field: field, value: sixtyThree, normalized: sixtyThree),
            LabelCase(field: field, value: sixtyFour, normalized: nil),
            LabelCase(field: field, value: "-x", normalized: nil),
            LabelCase(field: field, value: "x-", normalized: nil),
            LabelCase(field: field, value: "-", normalized: nil),
            LabelCase(field: field, value: "_x", normalized: nil),
            LabelCase(field: field, value: "a.b", normalized: nil),
            LabelCase(field: field, value: "a b", normalized: nil),
            LabelCase(field: field, value: "é", normalized: nil),
            LabelCase(field: field, value: "a*", normalized: nil),
        ]
    }

    @Test(arguments: labelCases)
    func labelFieldsFollowTheDNSLabelRuleAndAreStoredLowerCase(_ row: LabelCase) throws {
        let request = Self.request { request in
            switch row.field {
            case "service": request.service = row.value
            case "function": request.function = row.value
            default: request.id = row.value
            }
        }
        if let normalized = row.normalized {
            let spec = try request.validated()
            let stored = row.field == "service" ? spec.service : row.field == "function" ? spec.function : spec.id
            #expect(stored == normalized)
        } else {
            #expect(Self.error(request) == .invalidField(field: row.field, rule: Self.labelRule))
        }
    }

    @Test func emptyLabelsAreRejectedAndAnEmptyIdIsCalledOut() {
        #expect(Self.error(Self.request { $0.service = "" }) == .invalidField(field: "service", rule: Self.labelRule))
        #expect(Self.error(Self.request { $0.function = "" }) == .invalidField(field: "function", rule: Self.labelRule))
        #expect(Self.error(Self.request { $0.id = "" }) == .invalidField(field: "id", rule: "non-empty"))
    }

    @Test func missingRequiredFieldsAreNamed() {
        #expect(Self.error(Self.request { $0.service = nil }) == .missingField("service"))
        #expect(Self.error(Self.request { $0.function = nil }) == .missingField("function"))
        #expect(Self.error(Self.request { $0.address = nil }) == .missingField("address"))
        #expect(Self.error(Self.request { $0.port = nil }) == .missingField("port"))
    }

    // MARK: - Address and numbers

    @Test func addressIsAnIPv4OrIPv6Literal() throws {
        #expect(try Self.request { $0.address = "192.0.2.7" }.validated().address == .v4(0xC000_0207))
        #expect(try Self.request { $0.address = "2001:db8::1" }.validated().address == IPAddress("2001:0DB8:0::1"))
        guard case .v6 = try Self.request({ $0.address = "::ffff:192.0.2.1" }).validated().address else {
            Issue.record("a v4-mapped address is an IPv6 literal")
            return
        }
        let rule = LeaseError.invalidField(field: "address", rule: "an IPv4 or IPv6 literal")
        for garbage in ["", "garbage", "10.0.0.256", "10.0.0", "1.2.3.4.5", "2001:db8:::1", "::g", "host.example"] {
            #expect(Self.error(Self.request { $0.address = garbage }) == rule, "address \(garbage)")
        }
    }

    @Test func portIsOneTo65535() throws {
        let rule = LeaseError.invalidField(field: "port", rule: "an integer 1-65535")
        #expect(Self.error(Self.request { $0.port = 0 }) == rule)
        #expect(Self.error(Self.request { $0.port = 65_536 }) == rule)
        #expect(Self.error(Self.request { $0.port = -1 }) == rule)
        #expect(try Self.request { $0.port = 1 }.validated().port == 1)
        #expect(try Self.request { $0.port = 65_535 }.validated().port == 65_535)
    }

    @Test func ttlIsOneTo86400SecondsWithDefault30() throws {
        let rule = LeaseError.invalidField(field: "ttl", rule: "an integer 1-86400 (seconds)")
        #expect(Self.error(Self.request { $0.ttl = 0 }) == rule)
        #expect(Self.error(Self.request { $0.ttl = 86_401 }) == rule)
        #expect(Self.error(Self.request { $0.ttl = -30 }) == rule)
        #expect(try Self.request { $0.ttl = 1 }.validated().ttl == 1)
        #expect(try Self.request { $0.ttl = 86_400 }.validated().ttl == 86_400)
        #expect(try Self.base.validated().ttl == 30)
    }

    @Test func priorityAndWeightAre0To65535WithDefaults0And1() throws {
        let spec = try Self.base.validated()
        #expect(spec.priority == 0)
        #expect(spec.weight == 1)
        for field in ["priority", "weight"] {
            let rule = LeaseError.invalidField(field: field, rule: "an integer 0-65535")
            func with(_ value: Int64) -> RegistrationRequest {
                Self.request { field == "priority" ? ($0.priority = value) : ($0.weight = value) }
            }
            #expect(Self.error(with(-1)) == rule)
            #expect(Self.error(with(65_536)) == rule)
            let low = try with(0).validated()
            let high = try with(65_535).validated()
            #expect((field == "priority" ? low.priority : low.weight) == 0)
            #expect((field == "priority" ? high.priority : high.weight) == 65_535)
        }
    }

    // MARK: - Meta

    @Test func metaKeepsItsOrderAndPublishesKeyEqualsValue() throws {
        let spec = try Self.request { $0.meta = [("zone", "b"), ("version", "1.2"), ("empty", "")] }.validated()
        #expect(spec.meta.map(\.key) == ["zone", "version", "empty"])
        #expect(spec.meta.map { "\($0.key)=\($0.value)" } == ["zone=b", "version=1.2", "empty="])
        #expect(spec.meta.map(\.publishedLength) == [6, 11, 6])
    }

    @Test func metaKeysMustBeNonEmptyWithoutEqualsAndUnique() {
        let keyRule = LeaseError.invalidField(field: "meta", rule: "keys that are non-empty and contain no '='")
        #expect(Self.error(Self.request { $0.meta = [("a=b", "c")] }) == keyRule)
        #expect(Self.error(Self.request { $0.meta = [("", "c")] }) == keyRule)
        #expect(Self.error(Self.request { $0.meta = [("=", "")] }) == keyRule)
        #expect(
            Self.error(Self.request { $0.meta = [("k", "1"), ("k", "2")] })
                == .invalidField(field: "meta", rule: "keys that appear once (\"k\" repeats)"))
        // An '=' in the value is fine: the first '=' splits key from value.
        #expect(Self.error(Self.request { $0.meta = [("k", "a=b")] }) == nil)
    }

    @Test func aMetaEntryOf255BytesAsKeyEqualsValueIsAcceptedAnd256Rejected() throws {
        let key = "k"
        let fits = String(repeating: "v", count: 255 - 2)
        let spec = try Self.request { $0.meta = [(key, fits)] }.validated()
        #expect(spec.meta[0].publishedLength == 255)
        #expect(
            Self.error(Self.request { $0.meta = [(key, fits + "v")] })
                == .invalidField(field: "meta", rule: "entries of at most 255 bytes as key=value (\"k\" is longer)"))
    }

    @Test func theMetaLimitCountsBytesNotCharacters() throws {
        // "é" is two bytes in UTF-8: 1 + 1 + 2 × 126 = 254 fits, 1 + 1 + 2 × 127 = 256 does not.
        #expect(Self.error(Self.request { $0.meta = [("k", String(repeating: "é", count: 126))] }) == nil)
        #expect(Self.error(Self.request { $0.meta = [("k", String(repeating: "é", count: 127))] }) != nil)
    }

    @Test func metaHoldsAtMost64Entries() throws {
        let sixtyFour = (0..<64).map { ("k\($0)", "v") }
        #expect(try Self.request { $0.meta = sixtyFour }.validated().meta.count == 64)
        #expect(
            Self.error(Self.request { $0.meta = sixtyFour + [("k64", "v")] })
                == .invalidField(field: "meta", rule: "at most 64 entries"))
    }

    // MARK: - Derived ids

    @Test func aRegistrationWithoutIdGetsTheDerivedId() throws {
        let spec = try Self.request { $0.id = nil }.validated()
        #expect(
            spec.id
                == InstanceSpec.derivedID(service: "orders", function: "create", address: spec.address, port: 8080))
        // Case in the request does not change it: the derivation sees the normalized labels.
        let shouted = try Self.request {
            $0.id = nil
            $0.service = "ORDERS"
            $0.function = "Create"
        }.validated()
        #expect(shouted.id == spec.id)
    }

    @Test func derivedIdIsDeterministicAValidLabelAndDiffersByEveryInput() throws {
        let v4 = IPAddress("10.0.0.1")!
        let id = InstanceSpec.derivedID(service: "orders", function: "create", address: v4, port: 8080)
        #expect(id == InstanceSpec.derivedID(service: "orders", function: "create", address: v4, port: 8080))
        #expect(LabelRules.normalize(id) == id)
        #expect(id.utf8.count == 13)
        let variants = [
            InstanceSpec.derivedID(service: "orders", function: "create", address: v4, port: 8081),
            InstanceSpec.derivedID(service: "orders", function: "delete", address: v4, port: 8080),
            InstanceSpec.derivedID(service: "billing", function: "create", address: v4, port: 8080),
            InstanceSpec.derivedID(
                service: "orders", function: "create", address: IPAddress("10.0.0.2")!, port: 8080),
        ]
        #expect(Set(variants + [id]).count == 5)
        // Equivalent IPv6 spellings are one address, hence one id.
        #expect(
            InstanceSpec.derivedID(
                service: "s", function: "f", address: IPAddress("2001:DB8:0:0::1")!, port: 1)
                == InstanceSpec.derivedID(
                    service: "s", function: "f", address: IPAddress("2001:db8::1")!, port: 1))
    }

    @Test func derivedIdsAreValidLabelsAcrossManyEndpoints() {
        var ids = Set<String>()
        for port in 1...2_000 {
            let id = InstanceSpec.derivedID(
                service: "svc", function: "fn", address: .v4(IPv4Address(0x0A00_0001 + UInt32(port % 7))), port: UInt16(port))
            #expect(LabelRules.normalize(id) == id)
            ids.insert(id)
        }
        #expect(ids.count == 2_000)
    }

    @Test func theSameEndpointRegisteredTwiceWithoutIdIsOneInstance() throws {
        var table = LeaseTable()
        let request = Self.request { $0.id = nil }
        table.add(try request.validated(), now: t0)
        table.add(try request.validated(), now: t0.adding(seconds: 1))
        #expect(table.count == 1)
    }
}
