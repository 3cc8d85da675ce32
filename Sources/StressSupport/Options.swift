/// The value after `--name` in `args`, or `value` when absent or not a number.
package func option(_ name: String, _ args: [String], default value: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return value }
    return v
}

/// The value after `--name` in `args`, or `value` when absent or not a number.
package func option(_ name: String, _ args: [String], default value: Double) -> Double {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Double(args[i + 1]) else { return value }
    return v
}
