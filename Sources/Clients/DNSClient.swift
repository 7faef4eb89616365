import DNSWire
import PosixIO

/// A stub resolver for one server: UDP first, TCP when the answer comes back truncated.
package struct DNSClient: Sendable {
    package var server: SocketAddress
    package var timeoutMilliseconds: Int
    package var attempts: Int

    package init(server: SocketAddress, timeoutMilliseconds: Int = 2_000, attempts: Int = 2) {
        self.server = server
        self.timeoutMilliseconds = timeoutMilliseconds
        self.attempts = attempts
    }

    /// Asks `type` for `name` with EDNS (payload 1232) and RD clear, retrying over TCP on TC.
    package func query(_ name: DomainName, type: RRType, forceTCP: Bool = false) throws(ClientError) -> Message {
        var query = Message(header: Header(id: UInt16.random(in: 0...UInt16.max)))
        query.questions = [Question(name: name, type: type)]
        query.additionals = [EDNS().record]
        let bytes: [UInt8]
        do throws(WireError) {
            bytes = try query.encode()
        } catch {
            throw .protocolError("cannot encode query: \(error)")
        }
        if !forceTCP {
            let reply = try exchangeUDP(bytes, id: query.header.id)
            if !reply.header.truncated { return reply }
        }
        return try exchangeTCP(bytes, id: query.header.id)
    }

    /// Sends raw bytes over UDP and returns the first reply whose ID matches.
    package func exchangeUDP(_ bytes: [UInt8], id: UInt16) throws(ClientError) -> Message {
        let socket = try openUDPSocket()
        var buffer = [UInt8](repeating: 0, count: 65_535)
        for _ in 0..<max(1, attempts) {
            _ = bytes.withUnsafeBytes { try? Posix.send(socket.rawValue, from: $0) }
            let deadline = Posix.monotonicNanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
            while true {
                let remaining = Int((deadline - Posix.monotonicNanoseconds()) / 1_000_000)
                guard remaining > 0,
                    (try? Posix.waitReadable(socket.rawValue, timeoutMilliseconds: remaining)) == true
                else { break }
                let received = buffer.withUnsafeMutableBytes { try? Posix.read(socket.rawValue, into: $0) }
                guard case .processed(let count)? = received else { continue }
                guard let reply = try? Message.decode(Array(buffer[0..<count])), reply.header.id == id else { continue }
                return reply
            }
        }
        throw .connection("no reply from \(server) over UDP")
    }

    /// Connected to the server, so only its datagrams arrive.
    private func openUDPSocket() throws(ClientError) -> FileDescriptor {
        do throws(SystemCallError) {
            return try Sockets.udpClient(connectedTo: server)
        } catch {
            throw .connection("udp socket: \(error)")
        }
    }

    /// Sends raw bytes over TCP with the two-byte length prefix and reads one reply.
    package func exchangeTCP(_ bytes: [UInt8], id: UInt16) throws(ClientError) -> Message {
        let answer: [UInt8]
        do throws(SystemCallError) {
            let stream = try BlockingStream(connectingTo: server, timeoutMilliseconds: timeoutMilliseconds)
            try stream.write([UInt8(bytes.count >> 8), UInt8(truncatingIfNeeded: bytes.count)] + bytes)
            var framer = TCPFramer()
            while true {
                let chunk = try stream.read()
                guard !chunk.isEmpty else { throw SystemCallError(call: "read", errno: .connectionReset) }
                framer.append(chunk)
                if case .message(let message) = framer.next() {
                    answer = message
                    break
                }
            }
        } catch {
            throw .connection("\(server) over TCP: \(error)")
        }
        let reply: Message
        do throws(WireError) {
            reply = try Message.decode(answer)
        } catch {
            throw .protocolError("malformed reply from \(server): \(error)")
        }
        guard reply.header.id == id else { throw .protocolError("reply ID mismatch from \(server)") }
        return reply
    }
}
