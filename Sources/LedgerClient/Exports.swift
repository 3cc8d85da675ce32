// The model types of `KaminoClient`'s API, re-exported one by one so that
// `import LedgerClient` alone is enough to call the client. Scoped on purpose: the rest
// of LedgerCore (the state machine `Ledger`, its stores, sharding and codecs) is the
// server's and stays out of a client's namespace. A type added to the client's API is
// added here too (the README snippet test, which imports only LedgerClient, catches a
// missing one).

@_exported public import struct LedgerCore.Account
@_exported public import struct LedgerCore.AccountBalance
@_exported public import struct LedgerCore.AccountFilter
@_exported public import struct LedgerCore.AccountFilterFlags
@_exported public import struct LedgerCore.AccountFlags
@_exported public import struct LedgerCore.CreateAccountResult
@_exported public import enum LedgerCore.CreateAccountStatus
@_exported public import struct LedgerCore.CreateTransferResult
@_exported public import enum LedgerCore.CreateTransferStatus
@_exported public import struct LedgerCore.QueryFilter
@_exported public import struct LedgerCore.QueryFilterFlags
@_exported public import struct LedgerCore.Transfer
@_exported public import struct LedgerCore.TransferFlags
