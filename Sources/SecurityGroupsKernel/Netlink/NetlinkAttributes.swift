/// Netlink attributes written into one buffer as they are made: a nested
/// attribute's length is filled in when its body is done, so nothing is
/// copied into its parent (a whole host's rules are millions of them).
/// Lengths and types little-endian; numbers big-endian, as nf_tables wants.
struct NetlinkAttributes {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    mutating func bytes(_ type: UInt16, _ payload: [UInt8]) {
        header(type, length: 4 + payload.count)
        bytes.append(contentsOf: payload)
        pad()
    }

    mutating func u32(_ type: UInt16, _ value: UInt32) {
        header(type, length: 8)
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// NUL-terminated.
    mutating func string(_ type: UInt16, _ text: String) {
        let utf8 = text.utf8
        header(type, length: 4 + utf8.count + 1)
        bytes.append(contentsOf: utf8)
        bytes.append(0)
        pad()
    }

    /// A nested `NFTA_DATA_VALUE`.
    mutating func data(_ type: UInt16, _ value: [UInt8]) {
        nested(type) { $0.bytes(1, value) }
    }

    mutating func nested(_ type: UInt16, _ body: (inout NetlinkAttributes) -> Void) {
        let start = bytes.count
        header(type | 0x8000, length: 0)                                 // NLA_F_NESTED
        body(&self)
        let length = bytes.count - start
        bytes[start] = UInt8(truncatingIfNeeded: length)
        bytes[start + 1] = UInt8(truncatingIfNeeded: length >> 8)
    }

    private mutating func header(_ type: UInt16, length: Int) {
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: type))
        bytes.append(UInt8(truncatingIfNeeded: type >> 8))
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}
