"""TLS for the clients: an `ssl.SSLContext` with Kamino's policy, from PEM files."""

from __future__ import annotations

import ssl

from . import errors


def tls_context(ca_file: str | None = None, *, cert_file: str | None = None,
                key_file: str | None = None, crl_file: str | None = None) -> ssl.SSLContext:
    """A client `ssl.SSLContext` for a Kamino server with TLS (`kamino serve --tls-cert`):
    TLS 1.2 or 1.3, the server's certificate verified against `ca_file` (PEM; None: the
    system's trust store) and checked to name the host connected to (or the client's
    `server_hostname`). `cert_file` and `key_file` (PEM) are this client's certificate and
    key, for servers that ask for one (`--tls-client-auth`). `crl_file` (PEM certificate
    revocation lists of `ca_file`'s CAs) refuses a server whose certificate is revoked,
    and every server of a CA whose list in the file has expired (fail closed).

    Pass it as `tls=` to `Client` or `AsyncClient`; any other `ssl.SSLContext` works too.
    Raises `InvalidArgument` when a file cannot be loaded."""
    if (cert_file is None) != (key_file is None):
        raise errors.InvalidArgument("a client certificate needs its key, and a key its certificate")
    if crl_file is not None and ca_file is None:
        raise errors.InvalidArgument("crl_file holds revocation lists of ca_file's CAs; pass ca_file too")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
        if cert_file is not None:
            context.load_cert_chain(cert_file, key_file)
        if crl_file is not None:
            with open(crl_file, encoding="ascii", errors="replace") as f:
                if "-----BEGIN X509 CRL-----" not in f.read():
                    raise errors.InvalidArgument(f"TLS files: {crl_file} holds no certificate revocation list")
            context.load_verify_locations(cafile=crl_file)
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    except (OSError, ssl.SSLError) as e:
        raise errors.InvalidArgument(f"TLS files: {e}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
