/// TLS on a stream connection: ciphertext read from the socket goes through `security` before the
/// session sees it, and what the session sends is sealed before it is queued. Everything else (the
/// write queue, back-pressure, deadlines, the graceful close) is the plain connection's, so a TLS
/// connection has the same limits as a plain one; the handshake has its own deadline from the accept.
extension StreamConnection {
    /// Seals what `body` appends (plaintext) and queues the ciphertext.
    func sendSealed(building body: (inout [UInt8]) -> Void) {
        guard let security else { return }
        if let listener {
            listener.sealScratch.removeAll(keepingCapacity: true)
            body(&listener.sealScratch)
            _ = listener.sealScratch.withUnsafeBytes { security.seal($0) }
            // One large response (the status page, a big listing) must not pin its size per loop.
            if listener.sealScratch.capacity > 1 << 18 { listener.sealScratch = [] }
        } else {
            var staged: [UInt8] = []
            body(&staged)
            _ = staged.withUnsafeBytes { security.seal($0) }
        }
        security.takeOutput(into: &outbound)
        flush()
    }

    /// `count` bytes of ciphertext arrived in the listener's scratch buffer.
    func receiveSealed(count: Int, in listener: StreamListener) {
        guard let security else { return }
        security.absorb(UnsafeRawBufferPointer(rebasing: listener.scratch[0..<count]))
        decryptAvailable(in: listener)
    }

    /// Hands plaintext to the session until the layer needs more ciphertext, the session pauses
    /// reading, or the connection ends. The plaintext goes through the scratch buffer too: the
    /// ciphertext that was there has been absorbed.
    func decryptAvailable(in listener: StreamListener) {
        guard let security else { return }
        while isOpen, !readingPaused, !isClosing {
            let wasEstablished = security.isEstablished
            let result = security.read(into: listener.scratch)
            if !wasEstablished, security.isEstablished {
                // The handshake deadline is over: the idle one applies until a request starts.
                deadlineNanoseconds = Posix.monotonicNanoseconds() + Int64(listener.idleMilliseconds) * 1_000_000
            }
            switch result {
            case .plaintext(let count) where count > 0:
                sendProducedOutput(security)
                session?.received(UnsafeRawBufferPointer(rebasing: listener.scratch[0..<count]), on: self)
            case .plaintext, .needsInput:
                sendProducedOutput(security)
                return
            case .closed:
                close()
                return
            case .failed(let reason):
                // A plain-HTTP client, a failed verification, a bad record: send the alert, if any,
                // and close gracefully (no reset).
                listener.onSecurityFailed(reason)
                security.takeOutput(into: &outbound)
                closeAfterWriting()
                return
            }
        }
    }

    /// Plaintext or ciphertext was left in the layer when the session paused reading: no socket
    /// event will announce it, so it is delivered from the loop once the current event is done.
    func decryptBufferedSoon() {
        let bound = LoopBound(self, loop: loop)
        loop.execute {
            guard let connection = bound.value, connection.isOpen, let listener = connection.listener else { return }
            connection.decryptAvailable(in: listener)
        }
    }

    /// Queues and writes what the layer produced (handshake messages, session tickets).
    private func sendProducedOutput(_ security: any StreamSecurity) {
        let before = outbound.count
        security.takeOutput(into: &outbound)
        if outbound.count > before { flush() }
    }
}
