import Testing
@testable import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// A transaction bigger than one of `NetfilterBatch`'s chunks (sent as
/// several iovecs of one datagram) is still one transaction: loaded whole,
/// or refused whole with the refused message named.
@Suite(.serialized) struct NetfilterBatchTests {
    typealias Message = NetfilterNetlink.Message
    static let chains = 25_000

    @Test func aBatchOfSeveralChunksIsOneTransaction() throws {
        guard let namespace = try NetworkNamespace.make("batch") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        let family = NFTablesChains.ipv4
        let table = NFTablesMessages.string(1, "batchtest")                       // NFTA_TABLE_NAME
        let messages: [Message] = [(NFTablesMessages.newTable, NFTablesMessages.create, family, table, "table batchtest")]
            + (0..<Self.chains).map { index in
                (NFTablesMessages.newChain, NFTablesMessages.create, family,
                 table + NFTablesMessages.string(3, "chain-\(index)-named-at-some-length"), "chain \(index)")  // NFTA_CHAIN_NAME
            }
        var batch = NetfilterBatch(after: 0, generation: nil)
        for message in messages { batch.append(message) }
        #expect(batch.chunks.count > 1)

        // A last message the kernel refuses (its table does not exist): nothing of the batch stays.
        let refused = messages + [(NFTablesMessages.newChain, NFTablesMessages.create, family,
                                   NFTablesMessages.string(1, "no-such-table") + NFTablesMessages.string(3, "x"), "the last chain")]
        let error = try NamespaceThread.run(in: namespace.name) { () -> NetfilterError? in
            do throws(NetfilterError) { try NetfilterNetlink(subject: "nf_tables").transact(refused) } catch { return error }
            return nil
        }
        #expect(error?.object == "the last chain")
        #expect(try NamespaceThread.run(in: namespace.name) { try NFTablesChains.list(family: family) }.isEmpty)

        try NamespaceThread.run(in: namespace.name) { try NetfilterNetlink(subject: "nf_tables").transact(messages) }
        let loaded = try NamespaceThread.run(in: namespace.name) { try NFTablesChains.list(family: family) }
        #expect(loaded.count == Self.chains && loaded.allSatisfy { $0.table == "batchtest" })
    }
}
