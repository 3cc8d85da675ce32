import Foundation

/// Counts malloc calls when the process runs with a counting allocator preloaded
/// (`LD_PRELOAD` exposing `kamino_malloc_calls`); nil otherwise.
func mallocCalls() -> UInt? {
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "kamino_malloc_calls") else { return nil }
    typealias Counter = @convention(c) () -> UInt
    return unsafeBitCast(symbol, to: Counter.self)()
}
