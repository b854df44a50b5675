public import SecurityGroupsCore
public import SecurityGroupsKernel

extension Agent {
    /// `security-groups apply`: brings the kernel to the ruleset of a host
    /// file, for the whole host or for one VM (its interfaces in the file,
    /// and those its chains in the kernel name: a VM gone from the file).
    /// Takes the command lock, as long as it is held, unless a dry run.
    public func apply(_ desired: HostState, layout: Layout, vm: VMName?, dryRun: Bool,
                      allowNFTables: Bool) throws(AgentError) -> ApplyReport {
        do {
            try host.checkHost(allowNFTables: allowNFTables)
            let scope = try vm.map { (name) throws(NetfilterError) in
                var vmScope = VMScope()
                vmScope.add(name, programmed: nil, desired: desired.vms.first { $0.name == name })
                return try vmScope.scope(kernel)
            } ?? .host
            // Never over an agent command (or the script).
            let lock = try dryRun ? nil : configuration.commandLock()
            defer { withExtendedLifetime(lock) {} }
            return try host.apply(ApplyOptions(dryRun: dryRun, recordsChanges: dryRun)) { Renderer.render(desired, layout: layout, scope: scope) }
        } catch {
            throw Self.agentError(error)
        }
    }
}
