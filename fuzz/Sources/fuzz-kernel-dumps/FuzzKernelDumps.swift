import SecurityGroupsCore

/// What `show`, resync and taking over read from the tools: `ipset save`
/// and `ebtables-save` text. Any text parses without a crash, and what is
/// parsed plans against an empty desired state (removing all of ours).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKernelDumps(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    let sets = KernelSet.parseSave(text)
    _ = IPSetPlanner.plan(desired: [], kernel: sets)
    let ebtables = KernelEbtablesState.parseSave(text)
    _ = EbtablesPlanner.plan(desired: EbtablesTable(), kernel: ebtables)
    _ = EbtablesPlanner.oversizedObsoleteChains(desired: EbtablesTable(), kernel: ebtables)
    return 0
}
