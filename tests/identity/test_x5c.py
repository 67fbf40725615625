"""Maskinporten grants signed with a virksomhetssertifikat: the JWT carries the certificate chain (`x5c`) instead
of the `kid` of a registered key, and the chain must lead to a configured trust anchor. A test CA, an
intermediate CA and enterprise certificates are made here with `cryptography`, as Buypass and Commfides make
theirs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from felles.core.audit import Actor
from felles.core.config import Settings, get_settings
from felles.identity import schemas, selfservice
from tests.identity.conftest import CONSUMER, PROVIDER, MachineClient, register_scope
from tests.identity.test_maskinporten import claims_of, token

NOW = datetime.now(UTC)
_RSA_KEYS: list[rsa.RSAPrivateKey] = []


def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make; the tests share a few."""
    while len(_RSA_KEYS) <= index:
        _RSA_KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_KEYS[index]


@dataclass
class Issued:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def certificate(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: Issued | None, *, ca: bool,
                not_before: datetime = NOW - timedelta(days=1),
                not_after: datetime = NOW + timedelta(days=365)) -> Issued:
    """A certificate for `key`, signed by `issuer` (self-signed when None), with the extensions RFC 5280 asks."""
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def name(common_name: str, *extra: x509.NameAttribute) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"), *extra,
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def enterprise(organization_number: str, issuer: Issued, *, key_index: int = 3, as_serial_number: bool = False,
               **validity: datetime) -> Issued:
    """A virksomhetssertifikat naming the organisation as organizationIdentifier (NTRNO-) or serialNumber."""
    attribute = x509.NameAttribute(NameOID.SERIAL_NUMBER, organization_number) if as_serial_number else \
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRNO-{organization_number}")
    subject = name("Testvirksomhet AS", x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Testvirksomhet AS"),
                   attribute)
    return certificate(subject, rsa_key(key_index), issuer, ca=False, **validity)


@dataclass
class Pki:
    root: Issued
    intermediate: Issued
    leaf: Issued


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = certificate(name("Felles Test Root CA"), rsa_key(0), None, ca=True)
    intermediate = certificate(name("Felles Test Issuing CA"), rsa_key(1), root, ca=True)
    return Pki(root, intermediate, enterprise(CONSUMER, intermediate))


@pytest.fixture
def trust_anchor(pki, settings, tmp_path, monkeypatch):
    """The test root configured as the only trust anchor, through the FELLES_* settings the service reads."""
    bundle = tmp_path / "trust-anchors.pem"
    bundle.write_bytes(pki.root.certificate.public_bytes(serialization.Encoding.PEM))
    for variable, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                            "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
                            "IDENTITY_TRUST_ANCHORS": str(bundle)}.items():
        monkeypatch.setenv(f"FELLES_{variable}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
async def certificate_client(database) -> MachineClient:
    """A Maskinporten client of the consumer with no registered keys: it proves itself with its certificate."""
    scope = await register_scope(database)
    await selfservice.set_scope_access(database, Actor(f"organization:{PROVIDER}"), PROVIDER, scope, CONSUMER,
                                       approved=True)
    client = await selfservice.create_client(database, Actor(f"organization:{CONSUMER}"), CONSUMER,
                                             schemas.ClientCreate(integration_type="maskinporten",
                                                                  client_name="certificate integration",
                                                                  scopes=[scope]), allow_local_http=True)
    return MachineClient(client.client_id, private_jwk(rsa_key(3)))


def x5c(*chain: Issued) -> list[str]:
    return [base64.b64encode(item.certificate.public_bytes(serialization.Encoding.DER)).decode() for item in chain]


def private_jwk(key: rsa.RSAPrivateKey) -> RSAKey:
    return RSAKey.import_key(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))


def signed_by(issued: Issued) -> RSAKey:
    return private_jwk(issued.key)


def certificate_grant(client: MachineClient, chain: list[str], key: RSAKey) -> str:
    return client.grant(header={"alg": "RS256", "x5c": chain}, key=key)


async def test_a_grant_with_a_chain_to_the_trust_anchor_gets_a_token_for_the_certificates_organisation(
    client, trust_anchor, pki, certificate_client
):
    response = await token(client, certificate_grant(certificate_client, x5c(pki.leaf, pki.intermediate),
                                                     signed_by(pki.leaf)))
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert claims["consumer"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{CONSUMER}"}
    assert claims["client_amr"] == "virksomhetssertifikat"


async def test_the_organisation_number_may_be_the_certificates_serial_number(
    client, trust_anchor, pki, certificate_client
):
    leaf = enterprise(CONSUMER, pki.intermediate, as_serial_number=True)
    response = await token(client, certificate_grant(certificate_client, x5c(leaf, pki.intermediate),
                                                     signed_by(leaf)))
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["client_amr"] == "virksomhetssertifikat"


async def test_a_chain_from_an_unknown_ca_is_refused(client, trust_anchor, pki, certificate_client):
    unknown_root = certificate(name("Unknown Root CA"), rsa_key(2), None, ca=True)
    leaf = enterprise(CONSUMER, unknown_root)
    response = await token(client, certificate_grant(certificate_client, x5c(leaf), signed_by(leaf)))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant" and "not trusted" in response.json()["error_description"]


async def test_an_expired_certificate_is_refused(client, trust_anchor, pki, certificate_client):
    expired = enterprise(CONSUMER, pki.intermediate, not_before=NOW - timedelta(days=400),
                         not_after=NOW - timedelta(days=1))
    response = await token(client, certificate_grant(certificate_client, x5c(expired, pki.intermediate),
                                                     signed_by(expired)))
    assert response.json()["error"] == "invalid_grant" and "not trusted" in response.json()["error_description"]


async def test_a_grant_not_signed_by_the_certificates_key_is_refused(client, trust_anchor, pki, certificate_client):
    response = await token(client, certificate_grant(certificate_client, x5c(pki.leaf, pki.intermediate),
                                                     private_jwk(rsa_key(2))))
    assert response.json()["error"] == "invalid_grant" and "signature" in response.json()["error_description"]


async def test_another_organisations_certificate_is_refused(client, trust_anchor, pki, certificate_client):
    other = enterprise("991825827", pki.intermediate)
    response = await token(client, certificate_grant(certificate_client, x5c(other, pki.intermediate),
                                                     signed_by(other)))
    assert response.json()["error"] == "invalid_grant"
    assert "another organisation" in response.json()["error_description"]


async def test_without_trust_anchors_no_certificate_is_accepted(client, pki, certificate_client, settings,
                                                                monkeypatch):
    monkeypatch.delenv("FELLES_IDENTITY_TRUST_ANCHORS", raising=False)
    monkeypatch.setenv("FELLES_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        response = await token(client, certificate_grant(certificate_client, x5c(pki.leaf, pki.intermediate),
                                                         signed_by(pki.leaf)))
    finally:
        get_settings.cache_clear()
    assert response.json()["error"] == "invalid_grant"
    assert "no trust anchors" in response.json()["error_description"]


def test_the_trust_anchor_bundle_must_exist(tmp_path):
    with pytest.raises(ValidationError, match="identity_trust_anchors"):
        Settings(data_dir=tmp_path, identity_trust_anchors=tmp_path / "missing.pem")
