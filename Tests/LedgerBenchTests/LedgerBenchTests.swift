import Testing
@testable import LedgerBench

@Suite struct LedgerBenchSmokeTests {
    @Test func moduleLinks() { _ = LedgerBench.self }
}
