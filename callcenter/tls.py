"""HTTPS for the panel: browsers give a page the microphone (the web phone)
only over https or on localhost.

``callcenter init`` writes a self-signed certificate and its key next to the
config file (``[web] tls_cert`` / ``tls_key``), for first use; a real one (the
company CA's, Let's Encrypt's: the full chain) replaces it by pointing those
keys at it. ``serve`` loads the pair into a TLS 1.2+ context and stops at
start, with the reason, when a file is missing or the key is not the
certificate's. Empty keys: plain http, as the tests serve."""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from callcenter.config import ConfigError

log = logging.getLogger(__name__)

VALID_DAYS = 825            # what browsers accepted of a private certificate's lifetime
EXPIRY_WARNING_DAYS = 30
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def configured_paths(settings) -> tuple[Path, Path] | None:
    """The certificate and key files (relative paths are from the config
    file's folder), or None when the panel is served in plain http."""
    web = settings.web
    if not web.tls_cert and not web.tls_key:
        return None
    if not web.tls_cert or not web.tls_key:
        raise ConfigError("[web] tls_cert and tls_key go together: set both (https) or neither (http)")
    base = Path(settings.path).parent if settings.path else Path.cwd()
    return (base / Path(web.tls_cert).expanduser(), base / Path(web.tls_key).expanduser())


def scheme(settings) -> str:
    return "https" if settings.web.tls_cert else "http"


def server_context(settings) -> ssl.SSLContext | None:
    """The TLS context ``serve`` listens with (None: plain http); ConfigError
    naming the file when the pair cannot be used."""
    paths = configured_paths(settings)
    if paths is None:
        return None
    cert, key = paths
    for what, path in (("tls_cert", cert), ("tls_key", key)):
        if not path.is_file():
            raise ConfigError(f"[web] {what}: no file at {path} ('callcenter init' generates a "
                              f"self-signed pair for a new config; or point it at your certificate)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(f"[web] tls_key {key} is not the key of the certificate tls_cert {cert}") from None
        raise ConfigError(f"[web] tls_cert {cert} / tls_key {key} could not be loaded "
                          f"(PEM certificate chain and unencrypted PEM key expected): {exc.reason or exc}") from None
    except PermissionError as exc:
        raise ConfigError(f"[web] cannot read {exc.filename or key}: permission denied") from None
    return context


def check_at_start(settings) -> None:
    """``serve``'s first step: ConfigError when the pair cannot be used, a
    warning when the certificate expires within a month."""
    if server_context(settings) is not None:
        _warn_when_expiring(configured_paths(settings)[0])


def _warn_when_expiring(cert: Path) -> None:
    try:
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    except (ValueError, OSError):
        return  # load_cert_chain says what is wrong with it
    left = leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    if left.total_seconds() <= 0:
        log.warning("the web certificate %s EXPIRED on %s: browsers refuse the panel", cert,
                    leaf.not_valid_after_utc.date())
    elif left.days < EXPIRY_WARNING_DAYS:
        log.warning("the web certificate %s expires on %s (in %d days)", cert,
                    leaf.not_valid_after_utc.date(), left.days)


def certificate_names(web_host: str) -> list[str]:
    """What a first-use certificate is valid for: the configured host (unless
    it is a wildcard), 127.0.0.1, ::1, localhost, this machine's name and its
    address on the default route (what another machine on the LAN types)."""
    names = [] if web_host in WILDCARD_HOSTS else [web_host]
    names += ["127.0.0.1", "::1", "localhost", socket.gethostname()]
    if (address := _default_route_address()) is not None:
        names.append(address)
    return list(dict.fromkeys(n for n in names if n))


def _default_route_address() -> str | None:
    """This machine's address towards the outside (a UDP "connect" sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))   # TEST-NET-1: never reached, only routed
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


def _subject_names(names: list[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def generate_self_signed(cert_path: Path, key_path: Path, names: list[str], *, days: int = VALID_DAYS) -> None:
    """A new P-256 key (file mode 0600) and a self-signed server certificate for ``names``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "callcenter (self-signed, first use)")])
    now = dt.datetime.now(dt.timezone.utc)
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(_subject_names(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _replace(key_path, key_pem, 0o600)
    _replace(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole (a new file renamed over any old one), with ``mode`` from its creation."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_first_use_pair(settings) -> bool:
    """At ``init``: generate the configured pair unless both files exist (a
    certificate the browsers already accepted, or a real one put there). True: generated."""
    paths = configured_paths(settings)
    if paths is None or all(p.is_file() for p in paths):
        return False
    generate_self_signed(*paths, certificate_names(settings.web.host))
    log.info("generated a self-signed certificate %s (key %s)", *paths)
    return True
