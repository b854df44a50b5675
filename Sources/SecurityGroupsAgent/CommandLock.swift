public import SecurityGroupsKernel

extension AgentConfiguration {
    /// The script's own lock (`lock_file`, `flock`), held while commands
    /// change the host, so our binary and the script never run over each
    /// other during a migration. Waited for as long as another process holds
    /// it (the agent gives a command 30 minutes): unlike the script, which
    /// runs without it after 15 s, and unlike a command that gives up and
    /// leaves a VM without rules. Inherited across exec: the programs a
    /// command starts (`ebtables-nft-restore`) hold it too, so a command
    /// killed while one of them still writes keeps the next one out until it
    /// is done. `waiting`: return once held; else at once (`FileLock.ready`).
    public func commandLock(waiting: Bool = true) throws(AgentError) -> FileLock {
        do {
            return waiting ? try FileLock(path: lockFile, inheritable: true, mode: 0o644)
                : try FileLock(waitingFor: lockFile, inheritable: true, mode: 0o644)
        } catch {
            throw AgentError(error.description)
        }
    }
}
