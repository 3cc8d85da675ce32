/// The benchmark runner behind `kamino bench` (issue 5).
public enum LedgerBench {}
