private import Glibc
import SecurityGroupsCore

/// What a command for some VMs reads of our native tables: an element by
/// its key, one set's elements, a set by name — each a request the kernel
/// answers from a hash or a short list, never a listing that grows with the
/// host.
struct NativeReads {
    /// A set or map of ours as the kernel describes it.
    struct SetInfo {
        let name: String
        let key: [NativeType]
        let interval: Bool
    }

    private let socket: NetfilterNetlink
    private static let (getSet, getSetElement): (UInt16, UInt16) = (10 << 8 | 10, 10 << 8 | 13)

    init() throws(NetfilterError) { socket = try NetfilterNetlink(subject: "nf_tables") }

    /// One element's value by its key and, in a concatenation of ranges,
    /// its last key: a map's value, `[]` for a set's element; nil when the
    /// set has no such element (or there is no such set).
    func element(family: UInt8, set: String, key: [UInt8], last: [UInt8]? = nil) throws(NetfilterError) -> [UInt8]? {
        var attributes = NetlinkAttributes()
        attributes.string(1, NativeRuleset.tableName)
        attributes.string(2, set)
        attributes.nested(3) { list in
            list.nested(1) { element in
                element.data(1, key)
                if let last { element.data(10, last) }
            }
        }
        var value: [UInt8] = []
        do {
            try socket.send(type: Self.getSetElement, flags: NetfilterNetlink.request | NetfilterNetlink.acknowledge, family: family,
                            attributes: attributes.bytes)
            try socket.receive { _, message in
                for element in Self.elements(message) { value = element.data ?? [] }
            }
        } catch where Self.absent(error) {
            return nil
        }
        return value
    }

    /// Every element of one set (its key, and a map's value); nil when there is no such set.
    func elements(family: UInt8, set: String) throws(NetfilterError) -> [(key: [UInt8], data: [UInt8]?)]? {
        var attributes = NetlinkAttributes()
        attributes.string(1, NativeRuleset.tableName)
        attributes.string(2, set)
        var found: [(key: [UInt8], data: [UInt8]?)] = []
        do {
            try socket.send(type: Self.getSetElement, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family,
                            attributes: attributes.bytes)
            try socket.receive { _, message in found += Self.elements(message) }
        } catch where Self.absent(error) {
            return nil
        }
        return found
    }

    /// One set or map of our table, by name; nil when there is none.
    func set(family: UInt8, name: String) throws(NetfilterError) -> SetInfo? {
        var attributes = NetlinkAttributes()
        attributes.string(1, NativeRuleset.tableName)
        attributes.string(2, name)
        var found: SetInfo?
        do {
            try socket.send(type: Self.getSet, flags: NetfilterNetlink.request | NetfilterNetlink.acknowledge, family: family,
                            attributes: attributes.bytes)
            try socket.receive { _, message in
                var keyType: UInt32 = 0
                var flags: UInt32 = 0
                NetfilterNetlink.forEachAttribute(message) { type, payload in
                    if type == 3 { flags = NetfilterNetlink.u32(payload) }                                             // NFTA_SET_FLAGS
                    if type == 4 { keyType = NetfilterNetlink.u32(payload) }                                           // NFTA_SET_KEY_TYPE
                }
                found = SetInfo(name: name, key: Self.types(keyType), interval: flags & 0x4 != 0)
            }
        } catch where Self.absent(error) {
            return nil
        }
        return found
    }

    /// The names of our table's sets and maps in `family` (a dump: grows with the host).
    func setNames(family: UInt8) throws(NetfilterError) -> [String] {
        var attributes = NetlinkAttributes()
        attributes.string(1, NativeRuleset.tableName)
        var names: [String] = []
        do {
            try socket.send(type: Self.getSet, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family, attributes: attributes.bytes)
            try socket.receive { _, message in
                var table = "", name = ""
                NetfilterNetlink.forEachAttribute(message) { type, payload in
                    if type == 1 { table = NetfilterNetlink.string(payload) }                             // NFTA_SET_TABLE
                    if type == 2 { name = NetfilterNetlink.string(payload) }                              // NFTA_SET_NAME
                }
                if table == NativeRuleset.tableName { names.append(name) }
            }
        } catch where Self.absent(error) {
            return []
        }
        return names
    }

    /// nft's concatenated type ids (six bits a field) as our types.
    private static func types(_ number: UInt32) -> [NativeType] {
        var fields: [NativeType] = []
        var rest = number
        while rest != 0 {
            let field: NativeType? = switch rest & 0x3f {
            case 41: .interfaceName
            case 19: .mark
            case 23: .classID
            case 7: .ipv4Address
            case 8: .ipv6Address
            default: nil
            }
            guard let field else { return [] }
            fields.insert(field, at: 0)
            rest >>= 6
        }
        return fields
    }

    /// The elements of an `NFT_MSG_NEWSETELEM` answer: `NFTA_SET_ELEM_LIST_ELEMENTS`
    /// of `NFTA_LIST_ELEM`s, each with `NFTA_SET_ELEM_KEY` and `_DATA` (a value or a verdict).
    private static func elements(_ message: ArraySlice<UInt8>) -> [(key: [UInt8], data: [UInt8]?)] {
        var found: [(key: [UInt8], data: [UInt8]?)] = []
        NetfilterNetlink.forEachAttribute(message) { type, list in
            guard type == 3 else { return }
            NetfilterNetlink.forEachAttribute(list) { _, element in
                var key: [UInt8] = []
                var data: [UInt8]?
                NetfilterNetlink.forEachAttribute(element) { type, payload in
                    guard type == 1 || type == 2 else { return }
                    NetfilterNetlink.forEachAttribute(payload) { kind, value in
                        let bytes = Array(value)                                                       // NFTA_DATA_VALUE or _VERDICT
                        if type == 1 { key = bytes } else { data = bytes }
                    }
                }
                found.append((key, data))
            }
        }
        return found
    }

    /// No such table, set or element.
    private static func absent(_ error: NetfilterError) -> Bool { error.errno == ENOENT }
}
