import SecurityGroupsCore
import SecurityGroupsKernel

/// `verify_network_rules`: checks that a VM's sets, bridge rules, default
/// rules and ebtables rules are in the kernel, like the script, and answers
/// the same way: the first missing piece on stdout, exit 2 (sets), 3
/// (bridge), 4 (default rules) or 5 (ebtables). Unlike the script it expects
/// MAC addresses as ebtables-nft prints them (`02:00:...`), so correct
/// rules on an nf_tables host pass.
extension Agent {
    func verify(_ arguments: AgentArguments) throws -> Agent.Outcome {
        guard let nameText = arguments.vmName, let ipText = arguments.vmIP, let macText = arguments.vmMAC else {
            return Outcome(output: "vm_name, vm_ip and vm_mac must be specifed\n", status: 1)
        }
        let name = try VMName(nameText)
        let ip = try AgentArgument.ipv4(ipText)
        let mac = try AgentArgument.mac(macText)
        let ipv6 = try arguments.vmIP6.map { (text) throws(InputError) in try AgentArgument.ipv6(text) }
        var bridge = try arguments.bridge.map { (text) throws(InputError) in try InterfaceName(text, field: "brname") }
        var vif = try arguments.vif.map { (text) throws(InputError) in try InterfaceName(text, field: "vif") }
        if bridge == nil || vif == nil {
            let interface = try host.interfaces(of: name.rawValue)?.first { $0.mac == mac.description }
            if bridge == nil {
                guard let found = interface?.bridge else { return Outcome(output: "Cannot find bridge\n", status: 1) }
                bridge = try InterfaceName(found, field: "brname")
            }
            if vif == nil {
                guard let found = interface?.vif else { return Outcome(output: "Cannot find vif\n", status: 1) }
                vif = try InterfaceName(found, field: "vif")
            }
        }
        let secondary = try arguments.secondaryIPs.map { (text) throws(InputError) in try AgentArgument.secondaryIPs(text) } ?? []
        let addresses = secondary.compactMap { if case .v4(let a) = $0 { a } else { nil } }.reversed() + [ip]

        let snapshot = try host.snapshot()
        let names = NetfilterNames(name)
        func members(_ set: String) -> [String] { snapshot.sets.first { $0.name == set }?.members ?? [] }
        for address in addresses where !members(names.ipv4Set).contains(address.description) {
            return Outcome(output: "vm ip \(address) is not found\n", status: 2)
        }
        if let ipv6, !members(names.ipv6Set).contains(ipv6.description) {
            return Outcome(output: "vm ipv6 \(ipv6) is not found\n", status: 2)
        }

        let text = snapshot.ownedText
        let iptables = text.iptables.split(separator: "\n").map(String.init)
        let brfw = NetfilterNames.bridgeChain(bridge!)
        let uplink = host.uplink(of: bridge!.rawValue) ?? ""
        let bridgeRules = [
            "-A FORWARD -o \(bridge!) -m physdev --physdev-is-bridged -j \(brfw)",
            "-A FORWARD -i \(bridge!) -m physdev --physdev-is-bridged -j \(brfw)",
            "-A \(brfw) -m state --state RELATED,ESTABLISHED -j ACCEPT",
            "-A \(brfw) -m physdev --physdev-is-in --physdev-is-bridged -j \(brfw)-IN",
            "-A \(brfw) -m physdev --physdev-is-out --physdev-is-bridged -j \(brfw)-OUT",
            "-A \(brfw) -m physdev --physdev-out \(uplink) --physdev-is-bridged -j ACCEPT",
        ]
        if let missing = bridgeRules.first(where: { !iptables.contains($0) }) {
            return Outcome(output: "Rule '\(missing)' is not found\n", status: 3)
        }
        let def = names.defaultChain, set = names.ipv4Set, v = vif!
        let lines = Set(iptables)
        for (suffix, option, direction) in [("-IN", "in", InterfaceDispatch.Direction.into), ("-OUT", "out", .out)] {
            let jump = { (chain: String, pattern: String, target: String) in
                "-A \(chain) -m physdev --physdev-\(option) \(pattern) --physdev-is-bridged -j \(target)"
            }
            if !reaches(lines, from: brfw + suffix, port: v.rawValue, target: def, direction, jump) {
                return Outcome(output: "Cannot find rule '\(jump(brfw + suffix, v.rawValue, def))'\n", status: 4)
            }
        }
        let defaultRules = [
            "-A \(def) -m state --state RELATED,ESTABLISHED -j ACCEPT",
            "-A \(def) -p udp -m physdev --physdev-in \(v) --physdev-is-bridged -m udp --sport 68 --dport 67 -j ACCEPT",
            "-A \(def) -p udp -m physdev --physdev-out \(v) --physdev-is-bridged -m udp --sport 67 --dport 68 -j ACCEPT",
            "-A \(def) -p udp -m physdev --physdev-in \(v) --physdev-is-bridged -m udp --sport 67 -j DROP",
            "-A \(def) -m physdev --physdev-in \(v) --physdev-is-bridged -m set ! --match-set \(set) src -j DROP",
            "-A \(def) -m physdev --physdev-out \(v) --physdev-is-bridged -m set ! --match-set \(set) dst -j DROP",
            "-A \(def) -p udp -m physdev --physdev-in \(v) --physdev-is-bridged -m set --match-set \(set) src -m udp --dport 53 -j RETURN",
            "-A \(def) -p tcp -m physdev --physdev-in \(v) --physdev-is-bridged -m set --match-set \(set) src -m tcp --dport 53 -j RETURN",
            "-A \(def) -m physdev --physdev-in \(v) --physdev-is-bridged -m set --match-set \(set) src -j \(names.egressChain)",
            "-A \(def) -m physdev --physdev-out \(v) --physdev-is-bridged -j \(names.vmChain)",
        ]
        let relevant = iptables.filter { $0.contains(name.rawValue) || $0.contains(def) }
        if let missing = firstMissingInOrder(defaultRules, in: relevant) {
            return Outcome(output: "Cannot find rule '\(missing)'\n", status: 4)
        }

        let ebtables = text.ebtables.split(separator: "\n").map(String.init)
        let ebtablesLines = Set(ebtables)
        for (builtin, option, target, direction) in [("PREROUTING", "i", names.ebtablesIn, InterfaceDispatch.Direction.into),
                                                     ("POSTROUTING", "o", names.ebtablesOut, .out)] {
            let jump = { (chain: String, pattern: String, target: String) in "-A \(chain) -\(option) \(pattern) -j \(target)" }
            if !reaches(ebtablesLines, from: builtin, port: v.rawValue, target: target, direction, jump) {
                return Outcome(output: "Rule '\(jump(builtin, v.rawValue, target))' is not found\n", status: 5)
            }
        }
        let base = names.ebtablesBase
        let groups: [[String]] = [
            ["-A \(base)-in -j \(base)-in-src", "-A \(base)-in -p ARP -j \(base)-in-ips",
             "-A \(base)-in -p ARP --arp-op Request -j ACCEPT", "-A \(base)-in -p ARP --arp-op Reply -j ACCEPT",
             "-A \(base)-in -p ARP -j DROP"],
            ["-A \(base)-in-src -s \(mac) -j RETURN", "-A \(base)-in-src -j DROP"],
            addresses.map { "-A \(base)-in-ips -p ARP -s \(mac) --arp-ip-src \($0) --arp-mac-src \(mac) -j RETURN" }
                + ["-A \(base)-in-ips -j DROP"],
            ["-A \(base)-out -p ARP --arp-op Reply -j \(base)-out-dst", "-A \(base)-out -p ARP -j \(base)-out-ips",
             "-A \(base)-out -p ARP --arp-op Request -j ACCEPT", "-A \(base)-out -p ARP --arp-op Reply -j ACCEPT",
             "-A \(base)-out -p ARP -j DROP"],
            ["-A \(base)-out-dst -p ARP --arp-op Reply --arp-mac-dst \(mac) -j RETURN", "-A \(base)-out-dst -p ARP --arp-op Reply -j DROP"],
            addresses.map { "-A \(base)-out-ips -p ARP --arp-ip-dst \($0) -j RETURN" } + ["-A \(base)-out-ips -j DROP"],
        ]
        let vmLines = ebtables.filter { $0.contains(name.rawValue) || $0.contains(base) }
        for group in groups {
            if let missing = firstMissingInOrder(group, in: vmLines) {
                return Outcome(output: "Cannot find rule '\(missing)'\n", status: 5)
            }
        }
        return Outcome()
    }

    /// Whether `lines` send a packet of `port` from `chain` into `target`:
    /// by the script's one jump there, or down the port dispatch tree that
    /// `chain` enters (`jump` spells a rule of chain, port pattern and target).
    private func reaches(_ lines: Set<String>, from chain: String, port: String, target: String,
                         _ direction: InterfaceDispatch.Direction, _ jump: (String, String, String) -> String) -> Bool {
        if lines.contains(jump(chain, port, target)) { return true }
        let rootJumps = ["-A \(chain) -j \(direction.root)", "-A \(chain) \(EbtablesSaveFormat.body(PortDispatch.rootJump(direction)))"]
        guard rootJumps.contains(where: lines.contains) else { return false }
        var current = direction.root, depth = 0
        while !lines.contains(jump(current, port, target)) {
            let deeper = (depth + 1..<port.count).reversed().first { length in
                let prefix = port.prefix(length)
                return lines.contains(jump(current, prefix + "+", direction.chain(prefix)))
            }
            guard let deeper else { return false }
            current = direction.chain(port.prefix(deeper))
            depth = deeper
        }
        return true
    }

    /// The first expected line not found after the previous one.
    private func firstMissingInOrder(_ expected: [String], in lines: [String]) -> String? {
        var next = 0
        for line in lines where next < expected.count && line == expected[next] { next += 1 }
        return next < expected.count ? expected[next] : nil
    }
}
