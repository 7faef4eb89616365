import CGlue
import Glibc

/// Preallocated buffers for receiving and sending UDP datagrams in batches (`recvmmsg`/`sendmmsg`).
///
/// Allocated once per socket thread and reused for every batch, so the datagram path allocates
/// nothing once warm. Not thread-safe: one batch per thread.
package final class UDPBatch {
    package let capacity: Int
    package let receiveSize: Int
    package let sendSize: Int
    private let receiveHeaders: UnsafeMutablePointer<beacon_mmsghdr>
    private let receiveVectors: UnsafeMutablePointer<iovec>
    private let receiveBuffers: UnsafeMutableRawPointer
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let sendHeaders: UnsafeMutablePointer<beacon_mmsghdr>
    private let sendVectors: UnsafeMutablePointer<iovec>
    private let sendBuffers: UnsafeMutableRawPointer
    /// Number of replies queued for the next `send`.
    package private(set) var pendingReplies = 0

    /// - Parameters:
    ///   - capacity: datagrams per system call.
    ///   - receiveSize: the largest query accepted; longer ones arrive cut (MSG_TRUNC) and are dropped.
    ///   - sendSize: the largest reply.
    package init(capacity: Int = 32, receiveSize: Int = 4096, sendSize: Int = 4096) {
        self.capacity = capacity
        self.receiveSize = receiveSize
        self.sendSize = sendSize
        receiveHeaders = .allocate(capacity: capacity)
        receiveVectors = .allocate(capacity: capacity)
        receiveBuffers = .allocate(byteCount: capacity * receiveSize, alignment: 16)
        addresses = .allocate(capacity: capacity)
        sendHeaders = .allocate(capacity: capacity)
        sendVectors = .allocate(capacity: capacity)
        sendBuffers = .allocate(byteCount: capacity * sendSize, alignment: 16)
        for index in 0..<capacity {
            receiveVectors[index] = iovec(iov_base: receiveBuffers + index * receiveSize, iov_len: receiveSize)
            sendVectors[index] = iovec(iov_base: sendBuffers + index * sendSize, iov_len: 0)
        }
    }

    deinit {
        receiveHeaders.deallocate()
        receiveVectors.deallocate()
        receiveBuffers.deallocate()
        addresses.deallocate()
        sendHeaders.deallocate()
        sendVectors.deallocate()
        sendBuffers.deallocate()
    }

    /// Waits for at least one datagram (up to the socket's receive timeout), then takes what else is queued.
    /// - Returns: the number received; 0 on timeout.
    package func receive(on fd: CInt) throws(SystemCallError) -> Int {
        for index in 0..<capacity {
            receiveHeaders[index] = beacon_mmsghdr()
            receiveHeaders[index].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
            receiveHeaders[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            receiveHeaders[index].msg_hdr.msg_iov = receiveVectors + index
            receiveHeaders[index].msg_hdr.msg_iovlen = 1
        }
        switch try Posix.receiveMessages(fd, receiveHeaders, count: capacity, flags: CInt(BEACON_MSG_WAITFORONE)) {
        case .processed(let count): return count
        case .wouldBlock: return 0
        }
    }

    /// The bytes of datagram `index`, or nil if it was longer than `receiveSize`.
    package func datagram(_ index: Int) -> UnsafeRawBufferPointer? {
        let header = receiveHeaders[index]
        guard header.msg_hdr.msg_flags & CInt(MSG_TRUNC) == 0 else { return nil }
        return UnsafeRawBufferPointer(start: receiveBuffers + index * receiveSize, count: Int(header.msg_len))
    }

    /// The sender of datagram `index`.
    package func sender(_ index: Int) -> SocketAddress? { SocketAddress(storage: addresses[index]) }


    /// The buffer the next reply can be written into in place, before `commitReply`.
    package var nextReplyBuffer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: sendBuffers + pendingReplies * sendSize, count: sendSize)
    }

    /// Queues a reply to datagram `index`, copying `bytes` (at most `sendSize`).
    package func queueReply(to index: Int, _ bytes: UnsafeRawBufferPointer) {
        let count = min(bytes.count, sendSize)
        nextReplyBuffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
        commitReply(to: index, length: count)
    }

    /// Queues the `length` bytes already written into `nextReplyBuffer` as the reply to datagram `index`.
    package func commitReply(to index: Int, length: Int) {
        let slot = pendingReplies
        sendVectors[slot].iov_len = min(length, sendSize)
        sendHeaders[slot] = beacon_mmsghdr()
        sendHeaders[slot].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
        sendHeaders[slot].msg_hdr.msg_namelen = receiveHeaders[index].msg_hdr.msg_namelen
        sendHeaders[slot].msg_hdr.msg_iov = sendVectors + slot
        sendHeaders[slot].msg_hdr.msg_iovlen = 1
        pendingReplies += 1
    }

    /// Sends every queued reply. A reply the kernel will not take now is dropped, as a lost datagram would be.
    package func sendPending(on fd: CInt) {
        var sent = 0
        while sent < pendingReplies {
            guard case .processed(let count)? = try? Posix.sendMessages(fd, sendHeaders + sent, count: pendingReplies - sent),
                count > 0
            else { sent += 1; continue }
            sent += count
        }
        pendingReplies = 0
    }
}
