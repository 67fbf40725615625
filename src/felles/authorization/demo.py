"""Demo services for ``felles seed --demo``: resources a person can give single rights on (Gi enkeltrettighet)
and a consent resource (samtykke), each with an XACML policy, registered as their service owners would.

Idempotent: a service already registered is left as it is; its policy is written again only if it differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from felles.authorization import schemas as s
from felles.authorization import service
from felles.authorization.decision import RESOURCE_ID
from felles.authorization.xacml.model import ACTION_ID
from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import Conflict, NotFound

SKD, TTD = "974761076", "405003309"
XACML = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
ROLE, PACKAGE, PARTY_TYPE = "urn:altinn:rolecode", "urn:altinn:accesspackage", "urn:altinn:partytype"
SUBJECT_CATEGORY = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
# A rule: (subject attributes, any of which matches; actions).
Rule = tuple[list[tuple[str, str]], list[str]]


@dataclass(frozen=True)
class DemoService:
    owner: str  # organisation number of the service owner
    orgcode: str
    document: dict[str, Any]
    rules: list[Rule]

    @property
    def identifier(self) -> str:
        return str(self.document["identifier"])


PARKING = "ttd-demo-parkeringstillatelse"
VAT_RETURN = "skd-demo-mva-melding"
INCOME_CONSENT = "skd-demo-samtykke-inntekt"

DEMO_SERVICES = (
    DemoService(TTD, "ttd", {
        "identifier": PARKING, "resourceType": "GenericAccessResource", "status": "Completed",
        "title": {"nb": "Parkeringstillatelse for beboere", "nn": "Parkeringsløyve for bebuarar",
                  "en": "Residential parking permit"},
        "description": {
            "nb": "Kommunal tjeneste (demo): søk om, forny og se beboerparkering for deg selv eller virksomheten.",
            "nn": "Kommunal teneste (demo): søk om, forny og sjå bebuarparkering for deg sjølv eller verksemda.",
            "en": "Municipal service (demo): apply for, renew and view residential parking for yourself or "
                  "your organisation."},
        "rightDescription": {"nb": "Lese og sende søknader om parkeringstillatelse.",
                             "nn": "Lese og sende søknader om parkeringsløyve.",
                             "en": "Read and send applications for parking permits."},
        "availableForType": ["PrivatePerson", "LegalEntityEnterprise", "Company"],
        "keywords": [{"word": "parkering", "language": "nb"}, {"word": "kommune", "language": "nb"}],
    }, [([(ROLE, "priv"), (ROLE, "dagl"), (ROLE, "lede")], ["read", "write"])]),
    DemoService(SKD, "skd", {
        "identifier": VAT_RETURN, "resourceType": "GenericAccessResource", "status": "Completed",
        "title": {"nb": "Mva-melding", "nn": "Mva-melding", "en": "VAT return"},
        "description": {
            "nb": "Skattelignende tjeneste (demo): lever og se virksomhetens melding om merverdiavgift.",
            "nn": "Skatteliknande teneste (demo): lever og sjå verksemda si melding om meirverdiavgift.",
            "en": "Tax-like service (demo): file and view the organisation's value added tax return."},
        "rightDescription": {"nb": "Lese, fylle ut og signere mva-meldingen.",
                             "nn": "Lese, fylle ut og signere mva-meldinga.",
                             "en": "Read, fill in and sign the VAT return."},
        "availableForType": ["LegalEntityEnterprise", "Company"],
        "keywords": [{"word": "merverdiavgift", "language": "nb"}, {"word": "mva", "language": "nb"}],
    }, [([(ROLE, "dagl"), (ROLE, "lede"), (ROLE, "regn"), (PACKAGE, "regnskapsforer-med-signeringsrettighet"),
          (PACKAGE, "merverdiavgift")], ["read", "write", "sign"])]),
    DemoService(SKD, "skd", {
        "identifier": INCOME_CONSENT, "resourceType": "Consent", "status": "Completed", "delegable": False,
        "consentTemplate": "default",
        "title": {"nb": "Inntektsopplysninger", "nn": "Inntektsopplysningar", "en": "Income information"},
        "description": {"nb": "Samtykke (demo) til at Skatteetaten deler inntekten din med den som spør.",
                        "nn": "Samtykke (demo) til at Skatteetaten deler inntekta di med den som spør.",
                        "en": "Consent (demo) for the Tax Administration to share your income with the asker."},
        "consentText": {
            "nb": "Skatteetaten gir {virksomhet} opplysninger om **inntekten din** for {inntektsaar}.",
            "nn": "Skatteetaten gir {virksomhet} opplysningar om **inntekta di** for {inntektsaar}.",
            "en": "The Tax Administration gives {virksomhet} information about **your income** for {inntektsaar}."},
        "consentMetadata": {"inntektsaar": {"optional": False}, "virksomhet": {"optional": False}},
        "availableForType": ["PrivatePerson"],
    }, [([(PARTY_TYPE, "organization")], ["requestconsent"]),
        ([(ROLE, "priv")], ["consent"])]),
)


def _match(attribute: str, category: str, value: str) -> str:
    return (f'<xacml:AllOf><xacml:Match MatchId="urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case">'
            f'<xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{escape(value)}'
            f'</xacml:AttributeValue><xacml:AttributeDesignator AttributeId="{attribute}" Category="{category}" '
            f'DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/></xacml:Match></xacml:AllOf>')


def policy_xml(identifier: str, rules: list[Rule]) -> bytes:
    """An XACML 3.0 policy in Altinn's form: each rule permits its actions on the resource to its subjects."""
    body = []
    for number, (subjects, actions) in enumerate(rules, start=1):
        subject_matches = "".join(_match(attribute, SUBJECT_CATEGORY, value) for attribute, value in subjects)
        action_matches = "".join(_match(ACTION_ID, ACTION_CATEGORY, action) for action in actions)
        body.append(
            f'<xacml:Rule RuleId="urn:altinn:resource:{identifier}:rule:{number}" Effect="Permit"><xacml:Target>'
            f'<xacml:AnyOf>{subject_matches}</xacml:AnyOf>'
            f'<xacml:AnyOf>{_match(RESOURCE_ID, RESOURCE_CATEGORY, identifier)}</xacml:AnyOf>'
            f'<xacml:AnyOf>{action_matches}</xacml:AnyOf></xacml:Target></xacml:Rule>')
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<xacml:Policy xmlns:xacml="{XACML}" '
            f'PolicyId="urn:altinn:resource:{identifier}:policy" Version="1.0" '
            'RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">'
            f'<xacml:Target/>{"".join(body)}</xacml:Policy>\n').encode()


async def seed_demo_services(database: Database) -> list[s.ServiceResource]:
    """Register the demo services with their policies (as their owners would); the resources as stored."""
    seeded = []
    for demo in DEMO_SERVICES:
        actor = Actor(f"organization:{demo.owner}")
        document = {**demo.document, "hasCompetentAuthority": {"organization": demo.owner, "orgcode": demo.orgcode}}
        try:
            await service.create_resource(database, actor, demo.owner, s.ServiceResource.model_validate(document))
        except Conflict:
            pass  # seeded before
        policy = policy_xml(demo.identifier, demo.rules)
        try:
            current = await service.get_policy(database, demo.identifier)
        except NotFound:
            current = None
        if current != policy.decode():
            await service.put_policy(database, actor, demo.owner, demo.identifier, policy)
        seeded.append(await service.get_resource(database, demo.identifier))
    return seeded
