"""A demo consent request for ``felles seed --demo``: Regnskap Demo AS asks Kari Nordmann for her income
information (the demo consent resource), so that the consent page has something to show. Its id is fixed, so
seeding again finds the same request."""

from __future__ import annotations

import uuid
from datetime import timedelta

from felles.consent import schemas as s
from felles.consent import service
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.tokens import Principal
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_PERSONS

DEMO_CONSENT_REQUEST = uuid.UUID("01930000-0000-7000-8000-00000000d301")
DEMO_CONSENT_RESOURCE = "skd-demo-samtykke-inntekt"  # seeded by felles.authorization.demo
DEMO_CONSENT_VALIDITY = timedelta(days=365)


async def seed_demo_consent_request(database: Database, settings: Settings) -> str:
    """Create the demo consent request unless it exists; the address of its consent page."""
    kari = DEMO_PERSONS[0]
    consumer = Principal("organization", organization_number=DEMO_ACCOUNTING_FIRM,
                         scopes=frozenset({"altinn:consentrequests.write"}))
    await service.create_request(database, settings, consumer, s.ConsentRequestCreate.model_validate({
        "id": str(DEMO_CONSENT_REQUEST), "from": s.PERSON_URN + kari.identifier,
        "to": s.ORGANIZATION_URN + DEMO_ACCOUNTING_FIRM, "validTo": (utcnow() + DEMO_CONSENT_VALIDITY).isoformat(),
        "consentRights": [{"action": ["consent"], "resource": [{"value": DEMO_CONSENT_RESOURCE}],
                           "metadata": {"inntektsaar": "2025", "virksomhet": "Regnskap Demo AS"}}],
        "requestMessage": {"nb": "Vi trenger inntekten din for å sette opp årsoppgjøret.",
                           "nn": "Vi treng inntekta di for å setje opp årsoppgjeret.",
                           "en": "We need your income to prepare the annual accounts."},
        "redirectUrl": "https://regnskap-demo.example/samtykke/ferdig",
    }))
    return service.view_uri(settings.base_url, DEMO_CONSENT_REQUEST)
