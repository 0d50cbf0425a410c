"""``serve``'s https: a certificate for localhost made on the spot with trustme (its CA
kept in ``--tls-ca-dir`` between runs, or made fresh), or the user's own certificate,
checked before the server listens.

Every problem raises ``TlsError`` naming the setting at fault (``tls_cert``, ``tls_key``,
``tls_ca_out``, ``tls_ca_dir``, ``callback_ca_file``) and the reason, without the path:
the CLI says which option or variable carried which path.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import trustme

TLS_NAMES = ("localhost", "127.0.0.1", "::1")
CA_CERT = "ca.pem"
CA_KEY = "ca.key"


class TlsError(ValueError):
    """A TLS file that cannot be used; ``setting`` names the setting that gave it."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(reason)
        self.setting = setting
        self.reason = reason


@dataclass(frozen=True)
class TlsFiles:
    certfile: str
    keyfile: str
    ca_file: str | None


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only, from the moment the file exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # the file may have existed with wider permissions


def _read(setting: str, path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TlsError(setting, f"cannot read: {error.strerror or error}") from None


def _kept_ca(folder: Path) -> trustme.CA:
    """The CA kept in ``folder``; made and written there (owner-only) on first use."""
    import trustme

    cert, key = folder / CA_CERT, folder / CA_KEY
    if cert.exists() or key.exists():
        if not (cert.is_file() and key.is_file()):
            missing = CA_KEY if cert.exists() else CA_CERT
            raise TlsError("tls_ca_dir", f"holds {CA_CERT} or {CA_KEY} but not both ({missing} is missing)")
        cert_pem, key_pem = _read("tls_ca_dir", cert), _read("tls_ca_dir", key)
        try:
            return trustme.CA.from_pem(cert_pem, key_pem)
        except ValueError as error:
            reason = f"{CA_CERT} and {CA_KEY} are not a CA certificate and its key: {error}"
            raise TlsError("tls_ca_dir", reason) from None
    authority = trustme.CA(organization_name="nanobanana-mock test CA")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(key, authority.private_key_pem.bytes())
        cert.write_bytes(authority.cert_pem.bytes())
    except FileExistsError as error:
        raise TlsError("tls_ca_dir", f"cannot keep the CA there: {error.filename} is a file, not a folder") from None
    except OSError as error:
        raise TlsError("tls_ca_dir", f"cannot keep the CA there: {error.strerror or error}") from None
    return authority


def make_localhost_certificate(folder: Path, *, ca_out: str | None = None, ca_dir: str | None = None) -> TlsFiles:
    """A server certificate for localhost, 127.0.0.1 and ::1, its key and chain in ``folder``.

    The CA comes from ``ca_dir`` (kept between runs) or is made fresh; its certificate is
    also written to ``ca_out`` when given. Without either it goes to ``folder/ca.pem``. The
    caller owns ``folder`` (a private temporary folder, removed at exit).
    """
    import trustme

    authority = _kept_ca(Path(ca_dir)) if ca_dir else trustme.CA(organization_name="nanobanana-mock test CA")
    server = authority.issue_cert(*TLS_NAMES)
    certfile, keyfile = folder / "server.pem", folder / "server.key"
    _write_private(keyfile, server.private_key_pem.bytes())
    certfile.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    if ca_out:
        ca_path = Path(ca_out)
        try:
            ca_path.parent.mkdir(parents=True, exist_ok=True)
            ca_path.write_bytes(authority.cert_pem.bytes())
        except FileExistsError as error:
            raise TlsError("tls_ca_out", f"cannot write: {error.filename} is a file, not a folder") from None
        except OSError as error:
            raise TlsError("tls_ca_out", f"cannot write: {error.strerror or error}") from None
    elif ca_dir:
        ca_path = Path(ca_dir) / CA_CERT
    else:
        ca_path = folder / CA_CERT
        ca_path.write_bytes(authority.cert_pem.bytes())
    return TlsFiles(str(certfile), str(keyfile), str(ca_path.resolve()))


def check_certificate(certfile: str, keyfile: str) -> None:
    """Raise ``TlsError`` unless the pair loads as a server certificate and its key."""
    if b"-----BEGIN CERTIFICATE-----" not in _read("tls_cert", certfile):
        raise TlsError("tls_cert", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    key = _read("tls_key", keyfile)
    if b"PRIVATE KEY-----" not in key:
        raise TlsError("tls_key", "holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
    if b"ENCRYPTED" in key:
        raise TlsError("tls_key", "is encrypted: give the key without a passphrase")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise TlsError("tls_key", "is not the key of that certificate") from None
        raise TlsError("tls_cert", f"cannot load it with its key: {error.reason or error}") from None


def check_ca_file(path: str, setting: str = "callback_ca_file") -> None:
    """Raise ``TlsError`` unless ``path`` holds at least one CA certificate."""
    _read(setting, path)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as error:
        reason = error.reason if isinstance(error, ssl.SSLError) else error.strerror
        raise TlsError(setting, f"holds no usable CA certificate: {reason or error}") from None
