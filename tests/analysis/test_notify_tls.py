"""Email over TLS to a real SMTP server on 127.0.0.1: STARTTLS and implicit TLS (`security = "ssl"`) with a
certificate the client trusts; an untrusted certificate fails the attempt with a clear error and keeps the mail
pending."""

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from analysis.notify import deliver_pending
from jobtrend.config import EmailSettings, NotifySettings
from tests.analysis.test_notify import Inbox, free_port, queue_mail, rows


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert path, key path)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def settings_for(port: int, security: str) -> NotifySettings:
    return NotifySettings(email=EmailSettings(host="127.0.0.1", port=port, security=security,
                                              sender="bot@example.org", recipients=("me@example.org",), timeout=5))


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def trusted(certificate, monkeypatch):
    """Make the client trust the test certificate, as a system CA store would."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_email_is_delivered(engine, certificate, trusted, security):
    port, inbox = free_port(), Inbox()
    tls = ({"tls_context": server_context(certificate), "require_starttls": True} if security == "starttls"
           else {"ssl_context": server_context(certificate)})
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    try:
        queue_mail(engine)
        result = deliver_pending(engine, settings_for(port, security=security))
    finally:
        controller.stop()
    assert result.sent == 1 and len(inbox.messages) == 1
    assert rows(engine)[0].status == "sent"


def test_an_untrusted_certificate_fails_the_attempt_and_keeps_the_mail(engine, certificate, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))  # trust nothing
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_context(certificate),
                            require_starttls=True)
    controller.start()
    try:
        queue_mail(engine)
        result = deliver_pending(engine, settings_for(port, security="starttls"))
    finally:
        controller.stop()
    assert result.sent == 0 and result.retried == 1 and inbox.messages == []
    [row] = rows(engine)
    assert row.status == "pending" and "certificate" in row.last_error.lower()
