private import CLibvirt
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A libvirt domain as the security-group commands need it.
public struct DomainInfo: Equatable, Sendable {
    public enum State: Sendable, Equatable {
        case running, paused, other(Int32)
    }

    public var name: String
    /// The running domain's id, nil when it is not running.
    public var id: Int?
    public var state: State
}

/// One `<interface>` of a domain.
public struct DomainInterface: Equatable, Sendable {
    /// `<target dev=...>`: the host-side vif.
    public var vif: String?
    /// `<source bridge=...>`.
    public var bridge: String?
    /// `<mac address=...>`, lower-case.
    public var mac: String?
}

/// Read-only libvirt queries through its C API (never `virsh`).
public final class LibvirtClient {
    private let connection: UnsafeMutableRawPointer

    public init(uri: String) throws(NetfilterError) {
        var error = [CChar](repeating: 0, count: 512)
        guard let connection = sg_virt_connect(uri, &error, error.count) else {
            throw NetfilterError(operation: "libvirt connect", object: uri, reason: Self.message(error))
        }
        self.connection = connection
    }

    deinit { sg_virt_disconnect(connection) }

    /// Every domain, running or defined.
    public func domains() throws(NetfilterError) -> [DomainInfo] {
        var error = [CChar](repeating: 0, count: 512)
        var list: UnsafeMutablePointer<sg_domain>?
        let count = sg_virt_domains(connection, &list, &error, error.count)
        guard count >= 0, let list else {
            throw NetfilterError(operation: "libvirt list domains", object: "all", reason: Self.message(error))
        }
        defer { free(list) }
        return (0..<Int(count)).map { Self.info(list[$0]) }
    }

    /// One domain by name; nil when there is no such domain.
    public func domain(named name: String) throws(NetfilterError) -> DomainInfo? {
        var error = [CChar](repeating: 0, count: 512)
        var domain = sg_domain()
        switch sg_virt_domain(connection, name, &domain, &error, error.count) {
        case 1: return Self.info(domain)
        case 0: return nil
        default: throw NetfilterError(operation: "libvirt lookup", object: name, reason: Self.message(error))
        }
    }

    private static func info(_ domain: sg_domain) -> DomainInfo {
        var domain = domain
        let name = withUnsafeBytes(of: &domain.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let state: DomainInfo.State = switch domain.state {
        case 1: .running
        case 3: .paused
        default: .other(domain.state)
        }
        return DomainInfo(name: name, id: domain.id < 0 ? nil : Int(domain.id), state: state)
    }

    /// The domain's interfaces in device order; nil when there is no such domain.
    public func interfaces(of name: String) throws(NetfilterError) -> [DomainInterface]? {
        var error = [CChar](repeating: 0, count: 512)
        var missing: Int32 = 0
        guard let xml = sg_virt_domain_xml(connection, name, &missing, &error, error.count) else {
            if missing != 0 { return nil }
            throw NetfilterError(operation: "libvirt dumpxml", object: name, reason: Self.message(error))
        }
        defer { free(xml) }
        return DomainXML.interfaces(String(cString: xml))
    }

    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The `<devices><interface>` elements of a domain's XML.
enum DomainXML {
    static func interfaces(_ xml: String) -> [DomainInterface] {
        let collector = InterfaceCollector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        _ = parser.parse()
        return collector.interfaces
    }

    private final class InterfaceCollector: NSObject, XMLParserDelegate {
        var interfaces: [DomainInterface] = []
        private var current: DomainInterface?
        private var depth = 0
        private var interfaceDepth = -1

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            depth += 1
            if name == "interface", current == nil {
                current = DomainInterface()
                interfaceDepth = depth
                return
            }
            guard current != nil, depth == interfaceDepth + 1 else { return }
            switch name {
            case "target": current?.vif = attributes["dev"]
            case "source": current?.bridge = attributes["bridge"]
            case "mac": current?.mac = attributes["address"]?.lowercased()
            default: break
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "interface", depth == interfaceDepth, let finished = current {
                interfaces.append(finished)
                current = nil
                interfaceDepth = -1
            }
            depth -= 1
        }
    }
}
