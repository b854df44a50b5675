/// An ipset as the kernel holds it (from `ipset save`).
public struct KernelSet: Equatable, Sendable {
    public var name: String
    /// E.g. `hash:ip`.
    public var type: String
    public var family: AddressFamily?
    /// Members as `ipset save` prints them.
    public var members: [String]

    public init(name: String, type: String, family: AddressFamily?, members: [String]) {
        self.name = name
        self.type = type
        self.family = family
        self.members = members
    }

    /// Parses `ipset save` output.
    public static func parseSave(_ text: String) -> [KernelSet] {
        var sets: [KernelSet] = []
        var index: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 3 else { continue }
            let name = String(words[1])
            if words[0] == "create" {
                var family: AddressFamily?
                if let at = words.firstIndex(of: "family"), at + 1 < words.count {
                    family = words[at + 1] == "inet" ? .ipv4 : words[at + 1] == "inet6" ? .ipv6 : nil
                }
                index[name] = sets.count
                sets.append(KernelSet(name: name, type: String(words[2]), family: family, members: []))
            } else if words[0] == "add", let at = index[name] {
                sets[at].members.append(String(words[2]))
            }
        }
        return sets
    }
}

/// The ipset commands of one run, in `ipset restore` syntax, split around
/// the iptables commit: sets and members a rule may need come before it;
/// removals, which a rule may still reference until then, after it.
public struct IPSetPlan: Equatable, Sendable {
    public var beforeRules: [String] = []
    public var afterRules: [String] = []

    public var isEmpty: Bool { beforeRules.isEmpty && afterRules.isEmpty }
}

/// Brings our sets from the kernel's state to the desired one, touching only
/// sets `Ownership` says are ours.
public enum IPSetPlanner {
    /// `kernel` must hold every set `scope` reads. In a VM scope the
    /// `notrack` sets are shared: only the VM's addresses (wanted now, or in
    /// its own sets before; on any port) are added or removed there.
    public static func plan(desired: [IPSet], kernel: [KernelSet], scope: Scope = .host) -> IPSetPlan {
        var plan = IPSetPlan()
        let current = Dictionary(kernel.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let ownAddresses: Set<String>? = {
            guard case .vms = scope else { return nil }
            let own = desired.filter { scope.ownsWholeSet($0.name) }.flatMap { $0.members.map(\.description) }
                + kernel.filter { scope.ownsWholeSet($0.name) }.flatMap(\.members)
            return Set(own)
        }()
        var temporary = 0
        for set in desired {
            let wanted = set.members.map(\.description)
            let family = set.family == .ipv4 ? "inet" : "inet6"
            let create = "\(set.type.rawValue) family \(family)"
            // Members VMs share (DHCP servers) are added by any VM's scope and removed by none.
            let additive = set.name == NetfilterNames.metadataSet && !scope.ownsWholeSet(set.name)
            let mine = scope.ownsWholeSet(set.name) || additive ? nil : ownAddresses
            guard let existing = current[set.name] else {
                plan.beforeRules.append("create \(set.name) \(create)")
                plan.beforeRules += wanted.filter { member in mine.map { isOwn(member, $0) } ?? true }.map { "add \(set.name) \($0)" }
                continue
            }
            if existing.type != set.type.rawValue || existing.family != set.family {
                // Rules refer to the set by index; swap keeps the index and
                // changes the contents (and type) under it.
                temporary += 1
                let scratch = "sg-swap-\(temporary)"
                plan.beforeRules.append("create \(scratch) \(create)")
                plan.beforeRules += wanted.map { "add \(scratch) \($0)" }
                plan.beforeRules.append("swap \(scratch) \(set.name)")
                plan.afterRules.append("destroy \(scratch)")
                continue
            }
            let present = Set(existing.members)
            let wantedHere = wanted.filter { member in mine.map { isOwn(member, $0) } ?? true }
            plan.beforeRules += wantedHere.filter { !present.contains($0) }.map { "add \(set.name) \($0)" }
            let keep = Set(wantedHere)
            guard !additive else { continue }
            plan.afterRules += existing.members.filter { member in !keep.contains(member) && (mine.map { isOwn(member, $0) } ?? true) }
                .map { "del \(set.name) \($0)" }
        }
        let desiredNames = Set(desired.map(\.name))
        for set in kernel where scope.ownsWholeSet(set.name) && !desiredNames.contains(set.name) {
            plan.afterRules.append("destroy \(set.name)")
        }
        return plan
    }

    /// Whether a member (`ADDRESS` or `ADDRESS,physdev:PORT`) is the
    /// scope's: its address is among `own`.
    private static func isOwn(_ member: String, _ own: Set<String>) -> Bool {
        own.contains(String(member.prefix { $0 != "," }))
    }
}
