#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import StressSupport

// kamino-walstress: crash-test and benchmark driver for LedgerStorage.
//   kamino-walstress stress DIR [--appenders N] [--segment-size BYTES] [--seconds S]
//   kamino-walstress bench DIR [--events N] [--concurrency N] [--seconds S]

let args = CommandLine.arguments
guard args.count >= 3 else {
    Output.error("usage: kamino-walstress stress|bench DIR [options]")
    exit(64)
}
let mode = args[1]
let directory = args[2]
switch mode {
case "stress":
    exit(await Stress.run(directory: directory,
                          appenders: option("--appenders", args, default: 32),
                          segmentSize: option("--segment-size", args, default: 1 << 20),
                          seconds: option("--seconds", args, default: 10.0)))
case "bench":
    exit(await Bench.run(directory: directory,
                         events: option("--events", args, default: 64),
                         concurrency: option("--concurrency", args, default: 64),
                         seconds: option("--seconds", args, default: 3.0)))
default:
    Output.error("unknown mode \(mode)")
    exit(64)
}
