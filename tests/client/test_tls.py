"""The TLS context: built once per verification setting and shared by every client."""

from __future__ import annotations

import datetime
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client.tls import tls_context


def _ssl_context(client: object) -> ssl.SSLContext:
    transport = client._http._transport  # type: ignore[attr-defined]
    return transport._pool._ssl_context  # type: ignore[no-any-return]


def _write_ca(path: Path, name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_clients_of_one_setting_share_one_context() -> None:
    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="d2p_secret")
    with creds.get_client() as first, creds.get_client() as second:
        assert _ssl_context(first) is _ssl_context(second)
        assert _ssl_context(first) is tls_context(True)
        assert _ssl_context(first).verify_mode == ssl.CERT_REQUIRED


async def test_async_clients_share_the_sync_clients_context() -> None:
    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="d2p_secret")
    async with creds.get_async_client() as client:
        assert _ssl_context(client) is tls_context(True)


def test_verification_off_is_its_own_context() -> None:
    creds = Dhis2Credentials(base_url="https://dhis2.example.org", token="t", verify_tls=False)
    with creds.get_client() as client:
        context = _ssl_context(client)
    assert context is not tls_context(True)
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_a_ca_bundle_is_trusted_and_read_again_when_it_changes(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    _write_ca(bundle, "Ministry of Health CA")
    creds = Dhis2Credentials(base_url="https://dhis2.moh.example", token="t", ca_bundle=str(bundle))
    with creds.get_client() as client:
        first = _ssl_context(client)
    subjects = [dict(x[0] for x in c["subject"])["commonName"] for c in first.get_ca_certs()]
    assert subjects == ["Ministry of Health CA"]
    assert tls_context(str(bundle)) is first
    _write_ca(bundle, "Ministry of Health CA 2027")
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    renewed = tls_context(str(bundle))
    assert renewed is not first
    assert [dict(x[0] for x in c["subject"])["commonName"] for c in renewed.get_ca_certs()] == [
        "Ministry of Health CA 2027"
    ]


def test_a_missing_ca_bundle_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises((OSError, ssl.SSLError)):
        tls_context(str(tmp_path / "missing.pem"))
