"""TLS against a real `kamino serve --tls-cert/--tls-key` (and `--tls-client-auth required`):
certificates are made here with the `openssl` command line."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile

import pytest

import kamino
from kamino import errors

LEAF = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
"""


class Certificates:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
    second CA (the wrong one), as PEM files in a temporary directory."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="kamino-py-tls-")
        with open(self.path("leaf.cnf"), "w") as f:
            f.write(LEAF)
        for ca in ("ca", "other-ca"):
            self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-days", "2", "-subj", f"/CN=Kamino Python test {ca}", "-keyout", self.path(f"{ca}.key"),
                          "-out", self.path(f"{ca}.pem"))
        for name, cn in (("server", "localhost"), ("client", "kamino-python-client")):
            self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={cn}",
                          "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.csr"))
            self._openssl("x509", "-req", "-in", self.path(f"{name}.csr"), "-CA", self.path("ca.pem"),
                          "-CAkey", self.path("ca.key"), "-CAcreateserial", "-days", "2",
                          "-extfile", self.path("leaf.cnf"), "-out", self.path(f"{name}.pem"))

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    @property
    def server_flags(self) -> list[str]:
        return ["--tls-cert", self.path("server.pem"), "--tls-key", self.path("server.key")]


@pytest.fixture(scope="module")
def certs():
    c = Certificates()
    yield c
    shutil.rmtree(c.dir, ignore_errors=True)


def test_tls_serves_and_the_server_certificate_is_verified(new_server, certs):
    server = new_server(certs.server_flags)
    context = kamino.tls_context(certs.path("ca.pem"))
    with kamino.Client(server.address, tls=context, retry=kamino.NO_RETRY) as c:
        assert [r.status for r in c.create_accounts([kamino.Account(id=1, ledger=700, code=10)])] == \
            [kamino.CreateAccountStatus.CREATED]
        assert [a.id for a in c.lookup_accounts([1])] == [1]

    # A plaintext client: the server closes the connection at its first bytes.
    with kamino.Client(server.address, retry=kamino.NO_RETRY) as plain:
        with pytest.raises(errors.ConnectionFailed):
            plain.lookup_accounts([1])

    # A server certificate of another CA, and a name the certificate does not carry.
    with kamino.Client(server.address, tls=kamino.tls_context(certs.path("other-ca.pem")),
                       retry=kamino.NO_RETRY) as wrong_ca:
        with pytest.raises(errors.ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
            wrong_ca.lookup_accounts([1])
    with kamino.Client(server.address, tls=context, server_hostname="ledger.example.com",
                       retry=kamino.NO_RETRY) as wrong_name:
        with pytest.raises(errors.ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
            wrong_name.lookup_accounts([1])
    # The name given is the one checked: `localhost` is in the certificate.
    with kamino.Client(server.address, tls=context, server_hostname="localhost", retry=kamino.NO_RETRY) as named:
        assert [a.id for a in named.lookup_accounts([1])] == [1]
    assert server.stop() == 0


def test_mutual_tls_needs_a_client_certificate(new_server, certs):
    server = new_server(certs.server_flags + ["--tls-ca", certs.path("ca.pem"), "--tls-client-auth", "required"])

    async def run() -> None:
        anonymous = kamino.AsyncClient(server.address, tls=kamino.tls_context(certs.path("ca.pem")),
                                       retry=kamino.NO_RETRY)
        with pytest.raises(errors.ConnectionFailed):
            await anonymous.lookup_accounts([1])
        await anonymous.close()
        holder = kamino.AsyncClient(server.address, retry=kamino.NO_RETRY, tls=kamino.tls_context(
            certs.path("ca.pem"), cert_file=certs.path("client.pem"), key_file=certs.path("client.key")))
        created = await holder.create_accounts([kamino.Account(id=2, ledger=700, code=10)])
        assert [r.status for r in created] == [kamino.CreateAccountStatus.CREATED]
        await holder.close()

    asyncio.run(run())
    assert server.stop() == 0


def test_bad_tls_arguments_are_refused(certs):
    with pytest.raises(errors.InvalidArgument):
        kamino.tls_context(certs.path("missing-ca.pem"))
    with pytest.raises(errors.InvalidArgument):
        kamino.tls_context(certs.path("ca.pem"), cert_file=certs.path("client.pem"))
    with pytest.raises(errors.InvalidArgument):
        kamino.AsyncClient("127.0.0.1:4410", tls="yes")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        kamino.AsyncClient("127.0.0.1:4410", server_hostname="localhost")


def make_crl(certs: Certificates, name: str, revoked: list[str]) -> str:
    """A CRL of the test CA revoking the PEM certificates in `revoked` (`openssl ca`)."""
    db = certs.path(f"crl-{name}")
    os.mkdir(db)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "crlnumber"), "w") as f:
        f.write("01\n")
    with open(os.path.join(db, "ca.cnf"), "w") as f:
        f.write(f"[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = {db}/index.txt\ncrlnumber = {db}/crlnumber\n"
                "default_md = sha256\ndefault_crl_days = 2\n")
    ca = ["ca", "-config", os.path.join(db, "ca.cnf"), "-keyfile", certs.path("ca.key"), "-cert", certs.path("ca.pem")]
    for cert in revoked:
        certs._openssl(*ca, "-revoke", cert)
    out = certs.path(f"{name}.crl.pem")
    certs._openssl(*ca, "-gencrl", "-out", out)
    return out


def test_a_crl_refuses_a_revoked_server_certificate(new_server, certs):
    server = new_server(certs.server_flags)
    revoked = make_crl(certs, "server", [certs.path("server.pem")])
    checking = kamino.tls_context(certs.path("ca.pem"), crl_file=revoked)
    with kamino.Client(server.address, tls=checking, retry=kamino.NO_RETRY) as c:
        with pytest.raises(errors.ConnectionFailed, match="certificate revoked"):
            c.lookup_accounts([1])
    # An empty list of the same CA: the server's certificate passes the check.
    clean = kamino.tls_context(certs.path("ca.pem"), crl_file=make_crl(certs, "none", []))
    with kamino.Client(server.address, tls=clean, retry=kamino.NO_RETRY) as c:
        assert c.lookup_accounts([1]) == []
    with pytest.raises(errors.InvalidArgument):
        kamino.tls_context(certs.path("ca.pem"), crl_file=certs.path("ca.pem"))  # a certificate, no CRL
    with pytest.raises(errors.InvalidArgument):
        kamino.tls_context(crl_file=revoked)
    assert server.stop() == 0
