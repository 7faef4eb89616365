import Primitives
import DNSWire
import Testing

/// Size budgets for hot types and buffer reuse across encodes (STYLE 3.4 #11, after NIO's `IOErrorTest`).
///
/// A budget that fails means a type grew: either shrink it back or raise the budget in the same
/// commit and say why.
@Suite("Memory layout budgets and buffer reuse")
struct MemoryLayoutBudgetTests {
    @Test func wireErrorFitsInTwoWords() {
        #expect(MemoryLayout<WireError>.size <= 16)
        #expect(MemoryLayout<WireError>.stride <= 16)
    }

    @Test func headerIsFourOctetsAndCountsEight() {
        #expect(MemoryLayout<Header>.size == 4)
        #expect(MemoryLayout<SectionCounts>.size == 8)
    }

    @Test func registryNewtypesAreTheirRawValues() {
        #expect(MemoryLayout<RRType>.size == 2)
        #expect(MemoryLayout<RRClass>.size == 2)
        #expect(MemoryLayout<RCode>.size == 2)
        #expect(MemoryLayout<Opcode>.size == 1)
    }

    @Test func addressesAreStoredAsIntegers() {
        #expect(MemoryLayout<IPv4Address>.size == 4)
        #expect(MemoryLayout<IPv6Address>.size == 16)
    }

    @Test func namesQuestionsAndRecordsStaySmall() {
        #expect(MemoryLayout<DomainName>.size == MemoryLayout<Int>.size, "one array reference")
        #expect(MemoryLayout<Question>.size <= 16)
        // SOA (two names and five counters) is the largest RDATA payload and sets these two.
        #expect(MemoryLayout<RData>.size <= 40)
        #expect(MemoryLayout<ResourceRecord>.size <= 56)
    }

    @Test func readerIsACursorOfFourWords() {
        #expect(MemoryLayout<WireReader>.size <= 32)
    }

    @Test func writerReusedFor10000EncodesKeepsItsBuffer() throws {
        let message = GoldenVectors.all.first { $0.label.hasPrefix("pointers") }!.message
        // Taken from a separate encode: a copy of `writer.bytes` would share its storage and make
        // the next write copy it.
        let expected = try message.encode()
        var writer = WireWriter(capacity: 512)
        try message.encode(into: &writer)
        let capacity = writer.bytes.capacity
        let base = writer.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        var moved = 0
        for _ in 0..<10_000 {
            writer.reset()
            try message.encode(into: &writer)
            let address = writer.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            if address != base || writer.bytes.capacity != capacity { moved += 1 }
        }
        #expect(moved == 0, "the buffer was reallocated \(moved) times")
        #expect(writer.bytes == expected, "reuse does not change the output")
    }

    @Test func writerReusedWithATCPPrefixKeepsItsBuffer() throws {
        let message = GoldenVectors.all[10].message
        var writer = WireWriter(capacity: 1024)
        func encodeFramed() throws {
            writer.reset()
            let prefix = writer.reserveLengthSlot()
            try message.encode(into: &writer)
            try writer.fill(prefix)
        }
        try encodeFramed()
        let plain = try message.encode()
        let expected = [UInt8(plain.count >> 8), UInt8(plain.count & 0xFF)] + plain
        let base = writer.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        for _ in 0..<10_000 { try encodeFramed() }
        #expect(writer.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == base)
        #expect(writer.bytes == expected)
    }
}
