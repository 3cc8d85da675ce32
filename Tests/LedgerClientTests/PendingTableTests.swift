@testable import LedgerClient
import Testing

/// The ring of requests awaiting replies: answers in any order, holes, growth, and the
/// order of iteration, checked against a dictionary doing the same operations.
@Suite struct PendingTableTests {
    @Test func inOrderRepliesKeepTheTableSmallAndFindEveryRequest() {
        var table = PendingTable<String>()
        for id: UInt64 in 1...1000 {
            table.insert("r\(id)", id: id)
            #expect(table.count == 1)
            #expect(table.remove(id) == "r\(id)")
            #expect(table.isEmpty)
            #expect(table.remove(id) == nil, "removed once only")
        }
    }

    @Test func outOfOrderRepliesLeaveHolesThatCloseWhenTheOldestIsAnswered() {
        var table = PendingTable<Int>()
        for id: UInt64 in 10...14 { table.insert(Int(id), id: id) }
        #expect(table.remove(12) == 12)
        #expect(table.remove(14) == 14)
        var seen: [UInt64] = []
        table.visitInOrder { id, value in
            #expect(UInt64(value) == id)
            seen.append(id)
        }
        #expect(seen == [10, 11, 13])
        #expect(table.remove(12) == nil)
        #expect(table.remove(9) == nil, "below the oldest")
        #expect(table.remove(15) == nil, "never added")
        #expect(table.remove(10) == 10)
        #expect(table.remove(11) == 11)
        #expect(table.count == 1)
        table.insert(20, id: 20)  // ids 15...19 skipped (requests that could not be encoded)
        #expect(table.remove(17) == nil)
        #expect(table.removeAll() == [13, 20])
        #expect(table.isEmpty)
        table.insert(21, id: 21)
        #expect(table.remove(21) == 21)
    }

    @Test func agreesWithADictionaryUnderRandomTraffic() {
        var table = PendingTable<UInt64>()
        var model: [UInt64: UInt64] = [:]
        var rng = SystemRandomNumberGenerator()
        var nextId: UInt64 = 1
        for _ in 0..<5_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                nextId += UInt64.random(in: 0...1, using: &rng) == 0 ? 1 : 2  // sometimes an id is skipped
                table.insert(nextId * 7, id: nextId)
                model[nextId] = nextId * 7
            case 5..<9:
                // Mostly the oldest, sometimes any id at all (late and unknown replies).
                let id = model.keys.min().map { Bool.random(using: &rng) ? $0 : UInt64.random(in: 0...nextId + 1, using: &rng) }
                    ?? nextId
                #expect(table.remove(id) == model.removeValue(forKey: id))
            default:
                var listed: [UInt64] = []
                table.visitInOrder { id, value in
                    #expect(value == id * 7)
                    listed.append(id)
                }
                #expect(listed == model.keys.sorted())
            }
            #expect(table.count == model.count)
        }
        #expect(table.removeAll() == model.keys.sorted().map { $0 * 7 })
    }
}
