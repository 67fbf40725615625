"""Virksomhetssertifikat chains (`x5c`) in grants and client assertions, checked against configured trust anchors.

The anchors are the CA certificates in the PEM bundle the setting `identity_trust_anchors` names
(`FELLES_IDENTITY_TRUST_ANCHORS`: Buypass and Commfides in production, a test CA in tests). With no anchors
configured, no `x5c` is accepted.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from felles.core.config import get_settings

# Norwegian enterprise certificates carry the organisation number in serialNumber or organizationIdentifier
# (ETSI EN 319 412-1: "NTRNO-<orgnr>").
_ORGANIZATION_NUMBER = re.compile(r"(?:NTRNO-)?(\d{9})")
# The Web PKI's rules for a client certificate, except that an enterprise certificate names its organisation in
# the subject and need not carry a subjectAltName.
_ENTERPRISE_LEAF = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)


class CertificateRejected(Exception):
    """The chain is malformed, does not lead to a trust anchor, or names no organisation."""


class TrustAnchors:
    """The configured anchors, read once per configured bundle."""

    def __init__(self) -> None:
        self._loaded: tuple[Path, list[x509.Certificate]] | None = None

    def anchors(self) -> list[x509.Certificate]:
        location = get_settings().identity_trust_anchors
        if location is None:
            return []
        if self._loaded is None or self._loaded[0] != location:
            self._loaded = (location, x509.load_pem_x509_certificates(location.read_bytes()))
        return self._loaded[1]

    def verify(self, x5c: object, now: datetime) -> tuple[x509.Certificate, str]:
        """The leaf certificate of a chain leading to an anchor, and the organisation number it names."""
        if not isinstance(x5c, list) or not x5c or not all(isinstance(item, str) for item in x5c):
            raise CertificateRejected("x5c must be a non-empty array of base64 DER certificates")
        anchors = self.anchors()
        if not anchors:
            raise CertificateRejected("no trust anchors are configured for certificates")
        try:
            chain = [x509.load_der_x509_certificate(base64.b64decode(item, validate=True)) for item in x5c]
        except ValueError as exc:
            raise CertificateRejected(f"x5c holds a certificate that cannot be read: {exc}") from exc
        verifier = (PolicyBuilder().store(Store(anchors)).time(now)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_ENTERPRISE_LEAF)
                    .build_client_verifier())
        try:
            verifier.verify(chain[0], chain[1:])
        except VerificationError as exc:
            raise CertificateRejected(f"the certificate chain is not trusted: {exc}") from exc
        return chain[0], _organization_number(chain[0])


def _organization_number(certificate: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_IDENTIFIER, NameOID.SERIAL_NUMBER):
        for attribute in certificate.subject.get_attributes_for_oid(oid):
            match = _ORGANIZATION_NUMBER.fullmatch(str(attribute.value))
            if match:
                return match.group(1)
    raise CertificateRejected("the certificate names no organisation number")


def public_key_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


trust_anchors = TrustAnchors()
