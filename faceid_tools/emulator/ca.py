"""The emulator proxy's own certificate authority, created on first use.

The CA lives in the user's state folder (``$XDG_STATE_HOME/faceid-tools/emulator-ca/``, by
default ``~/.local/state/faceid-tools/emulator-ca/``): ``ca.pem`` (the certificate, what clients
are given to trust) and ``ca-key.pem`` (its private key, mode 0600, in a 0700 folder).  It is
never shipped and never installed system-wide: only processes handed its path trust it.  It is
name-constrained to ``tencentcloudapi.com`` and ``myqcloud.com`` (the API's and COS's domains),
so even a stolen key cannot vouch for any other name.  Leaf certificates, one per host, are made
in memory as hosts are first reached and never written anywhere but a private temporary file
that is deleted once loaded.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import ssl
import stat
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import FaceIDError

logger = logging.getLogger(__name__)

#: The only domains the CA may vouch for (X.509 name constraints, permitted DNS subtrees).
PERMITTED_DOMAINS = ("tencentcloudapi.com", "myqcloud.com")
CA_FILE = "ca.pem"
KEY_FILE = "ca-key.pem"
CA_DAYS = 3650
LEAF_DAYS = 30


class CertificateAuthorityError(FaceIDError):
    """The CA's files cannot be used (unreadable, damaged, or a key others may read)."""

    code = "CertificateAuthorityError"


def state_dir() -> Path:
    """``$XDG_STATE_HOME/faceid-tools`` (default ``~/.local/state/faceid-tools``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "faceid-tools"


def default_ca_dir() -> Path:
    return state_dir() / "emulator-ca"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceid-tools emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "faceid-tools emulator local CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName(d) for d in PERMITTED_DOMAINS],
                excluded_subtrees=None,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


class CertificateAuthority:
    """Loads (or creates, under a file lock) the CA in ``directory``; issues leaf contexts."""

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory) if directory is not None else default_ca_dir()
        self.cert, self._key = self._load_or_create()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CertificateAuthority({str(self.cert_path)!r})"

    @property
    def cert_path(self) -> Path:
        """The CA certificate to give clients (``NODE_EXTRA_CA_CERTS``, ``REQUESTS_CA_BUNDLE``...)."""
        return self.directory / CA_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    def _load_or_create(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self.directory / ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not self.key_path.exists():
                    cert, key = _new_ca()
                    self._write(key, cert)
                    logger.info("created the emulator's CA in %s", self.directory)
                    return cert, key
                return self._read()
        except OSError as err:
            raise CertificateAuthorityError(
                f"the emulator CA folder {self.directory} is not usable: {err.strerror or err}"
            ) from None

    def _write(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem)
        tmp = self.cert_path.with_suffix(".tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, self.cert_path)

    def _read(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        mode = stat.S_IMODE(self.key_path.stat().st_mode)
        if mode & 0o077:
            raise CertificateAuthorityError(
                f"the emulator CA key {self.key_path} must be readable by its owner only "
                f"(mode 0600, found {mode:04o})"
            )
        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
            cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        except (ValueError, TypeError):
            raise CertificateAuthorityError(
                f"the emulator CA in {self.directory} is damaged; delete the folder to start anew"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
            raise CertificateAuthorityError(
                f"the emulator CA in {self.directory} does not match its key; delete the folder"
            )
        return cert, key

    def permits(self, host: str) -> bool:
        """True when ``host`` lies inside the CA's name constraints."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in PERMITTED_DOMAINS)

    def issue(self, host: str) -> tuple[bytes, bytes]:
        """A leaf certificate and key (PEM) for ``host``, valid :data:`LEAF_DAYS` days."""
        if not self.permits(host):
            raise CertificateAuthorityError(f"the emulator CA cannot vouch for {host!r}")
        key = ec.generate_private_key(ec.SECP256R1())
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(hours=1))
            .not_valid_after(_now() + dt.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting ``host``'s leaf certificate (made once per host)."""
        host = host.lower()
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is None:
                cert_pem, key_pem = self.issue(host)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                with tempfile.TemporaryDirectory(prefix="faceid-leaf-") as tmp:  # mode 0700
                    path = os.path.join(tmp, "leaf.pem")
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        out.write(cert_pem + key_pem)
                    ctx.load_cert_chain(path)
                self._contexts[host] = ctx
            return ctx
