import Primitives
import HTTPWire
import Leases

/// Who may write (tokens, certificate names, service scopes), and the error replies, one place for
/// each status.
extension ControlAPI {
    /// The caller's grant (nil when no token file is set), or the 401 to send. A request with
    /// `Authorization` is judged by its token alone; one without, from a client whose verified
    /// certificate a `cert:` line names, gets that line's services.
    func authorize(_ request: HTTPRequest, certificateNames: [String]) -> Result<TokenTable.Entry?, ResponseBox> {
        guard tokensRequired, let tokens else { return .success(nil) }
        guard let header = request.header("authorization") else {
            if !certificateNames.isEmpty {
                if let grant = tokens.certificateGrant(for: certificateNames) { return .success(grant) }
                let message = "client certificate \(certificateNames[0]) is not in the token file, and no Authorization: Bearer token"
                return .failure(ResponseBox(unauthorized(message)))
            }
            return .failure(ResponseBox(unauthorized("missing Authorization: Bearer token")))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(ResponseBox(unauthorized("Authorization must be 'Bearer TOKEN'")))
        }
        guard let entry = tokens.entry(for: Array(parts[1].trimmingSpaces.utf8)) else {
            return .failure(ResponseBox(unauthorized("unknown token")))
        }
        return .success(entry)
    }

    /// Checks the token and that it may write the instance's service; the normalized id.
    func authorizeInstance(_ rawID: String, _ request: HTTPRequest, certificateNames: [String])
        -> Result<String, ResponseBox>
    {
        let entry: TokenTable.Entry?
        switch authorize(request, certificateNames: certificateNames) {
        case .failure(let box): return .failure(box)
        case .success(let granted): entry = granted
        }
        guard let id = LabelRules.normalize(rawID) else {
            return .failure(ResponseBox(HTTPResponse.error(status: 404, message: "no live instance with id \(rawID)")))
        }
        if let services = entry?.services, let instance = registry.instance(id: id, now: clock()),
            !services.contains(instance.spec.service)
        {
            return .failure(ResponseBox(forbidden(instance.spec.service)))
        }
        return .success(id)
    }

    // MARK: - Responses

    func json(_ status: Int, _ body: (inout JSONWriter) -> Void) -> HTTPResponse {
        var bytes: [UInt8] = []
        JSONWriter.write(into: &bytes) { $0.object(body) }
        return HTTPResponse(status: status, contentType: "application/json", body: bytes)
    }

    func notFound() -> HTTPResponse { HTTPResponse.error(status: 404, message: "no such endpoint") }

    func notAllowed(_ allowed: String) -> HTTPResponse {
        var response = HTTPResponse.error(status: 405, message: "method not allowed (allowed: \(allowed))")
        response.headers.append((name: "Allow", value: allowed))
        return response
    }

    func unauthorized(_ message: String) -> HTTPResponse {
        var response = HTTPResponse.error(status: 401, message: message)
        response.headers.append((name: "WWW-Authenticate", value: "Bearer"))
        return response
    }

    func forbidden(_ service: String) -> HTTPResponse {
        HTTPResponse.error(status: 403, message: "token may not write service \(service)")
    }

    func leaseError(_ error: LeaseError) -> HTTPResponse {
        switch error {
        case .invalidField, .missingField: HTTPResponse.error(status: 400, message: error.description)
        case .tooManyInstances, .tooManyInstancesInFunction: HTTPResponse.error(status: 429, message: error.description)
        case .unknownInstance: HTTPResponse.error(status: 404, message: error.description)
        case .ownedByAnotherService: HTTPResponse.error(status: 403, message: error.description)
        }
    }

    func storeError(_ error: StoreError) -> HTTPResponse {
        switch error {
        case .lease(let lease): leaseError(lease)
        case .unavailable(let reason): HTTPResponse.error(status: 503, message: "store unavailable: \(reason)")
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

