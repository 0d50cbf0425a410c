"""``serve --tls``: a certificate for localhost made on the spot with trustme, its CA
written where the user's client can trust it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

TLS_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    certfile: str
    keyfile: str
    ca_file: str | None


def make_localhost_certificate(ca_out: str | None = None) -> TlsFiles:
    """A fresh CA and a server certificate for localhost, 127.0.0.1 and ::1.

    The CA goes to ``ca_out`` (default: a new temporary folder); the server's key and
    certificate chain go to a private temporary folder.
    """
    import trustme

    authority = trustme.CA(organization_name="nanobanana-mock test CA")
    server = authority.issue_cert(*TLS_NAMES)
    folder = Path(tempfile.mkdtemp(prefix="nanobanana-mock-tls-"))
    certfile = folder / "server.pem"
    keyfile = folder / "server.key"
    server.private_key_pem.write_to_path(str(keyfile))
    with certfile.open("wb") as handle:
        for blob in server.cert_chain_pems:
            handle.write(blob.bytes())
    ca_path = Path(ca_out) if ca_out else folder / "ca.pem"
    ca_path.parent.mkdir(parents=True, exist_ok=True)
    authority.cert_pem.write_to_path(str(ca_path))
    return TlsFiles(str(certfile), str(keyfile), str(ca_path))
