"""`felles demo journey`: seed 003's whole journey against a running platform, step by step.

Heidi logs in and applies for leave from school for Line (8 school days: within the rules) and for a
kindergarten place for Isak (a chronic illness: a case worker decides). Skedsmo kommune's case system (started
here, talking to the platform over HTTP only) gets each submission through its webhook, downloads it, confirms
the receipt, decides the leave by the rules, and the case worker grants the kindergarten place on the case
system's page. Each answer goes back to Heidi as a correspondence with a PDF, with an e-mail and an SMS; unread
after 10 days, it goes on paper.

Heidi's part uses the app API with a token for her made with the platform's development key (the platform's
test token generator, as a TestID login would give her): the command runs where the platform's data folder is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from felles.casesystem.platform import Credentials
from felles.casesystem.runner import Options, running
from felles.casesystem.service import CaseSystem
from felles.casesystem.service import Settings as CaseSettings
from felles.casesystem.store import Case, CaseState
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.journey.demo import ANSWER_RESOURCE, CLIENT_ID, CLIENT_SCOPES, KINDERGARTEN_APP, LEAVE_APP, key_file
from felles.registers.population import JOURNEY_FAMILY, SKEDSMO

CITIZEN_SCOPES = ["altinn:instances.read", "altinn:instances.write", "altinn:correspondence.read"]
Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    detail: str
    where: str | None = None


@dataclass
class JourneyResult:
    steps: list[Step] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # app id -> {partyId}/{guid}
    cases: dict[str, Case] = field(default_factory=dict)  # app id -> the case, answered


def case_system_options(settings: Settings, base_url: str, *, port: int = 0) -> Options:
    """Skedsmo kommune's case system as `make run` seeds it (its Maskinporten key in the data folder)."""
    return Options(platform_url=base_url,
                   credentials=Credentials.from_key_file(CLIENT_ID, key_file(settings), CLIENT_SCOPES),
                   settings=CaseSettings(app_ids=(LEAVE_APP, KINDERGARTEN_APP), answer_resource=ANSWER_RESOURCE,
                                         organization=SKEDSMO, archive=SKEDSMO),
                   store=None, fonts=settings.data_dir / "fonts", port=port, temporary=True)


def next_leave_dates(today: date) -> tuple[date, date]:
    """Eight school days from the Monday two weeks ahead, moved past any test week."""
    first = today + timedelta(days=14 - today.weekday())
    while {first.isocalendar().week, (first + timedelta(days=9)).isocalendar().week} & {10, 38}:
        first += timedelta(days=7)
    return first, first + timedelta(days=9)


class Citizen:
    """Heidi, over the app API, as the app's pages call it."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.headers = http, {"Authorization": f"Bearer {token}"}

    async def party_of(self, app_id: str, name: str) -> int:
        parties = (await self.http.get(f"/{app_id}/api/v1/parties?allowedToInstantiateFilter=true",
                                       headers=self.headers)).raise_for_status().json()
        return next(int(p["partyId"]) for p in parties if p and name.lower() in str(p.get("name", "")).lower())

    async def apply(self, app_id: str, party_id: int, answers: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Start an instance for the party, fill in the prefilled form, submit; the instance id and the form as
        it was prefilled."""
        created = (await self.http.post(f"/{app_id}/instances/create", headers=self.headers,
                                        json={"instanceOwner": {"partyId": str(party_id)}})).raise_for_status()
        instance = created.json()
        element = next(e for e in instance["data"] if e["dataType"] in ("permisjon", "barnehage"))
        path = f"/{app_id}/instances/{instance['id']}"
        form = (await self.http.get(f"{path}/data/{element['id']}", headers=self.headers)).raise_for_status().json()
        (await self.http.put(f"{path}/data/{element['id']}", headers=self.headers,
                             json={**form, **answers})).raise_for_status()
        (await self.http.put(f"{path}/process/next", headers=self.headers)).raise_for_status()
        return str(instance["id"]), form


async def _wait_for(check: Callable[[], Awaitable[Case | None]], what: str, seconds: float) -> Case:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await check()
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"waited {seconds:.0f} s for {what}")
        await asyncio.sleep(0.2)


async def run_journey(settings: Settings, base_url: str, say: Say, *, wait_seconds: float = 120.0,
                      transport: httpx.AsyncBaseTransport | None = None) -> JourneyResult:
    """The whole journey against the platform at `base_url`; `say` prints each step."""
    base = base_url.rstrip("/")
    result = JourneyResult()

    def step(name: str, detail: str, where: str | None = None) -> None:
        result.steps.append(Step(name, detail, where))
        say(f"[{len(result.steps)}] {name}: {detail}" + (f"\n    see {where}" if where else ""))

    family = JOURNEY_FAMILY
    token = mint_development_token(PlatformKeys.load(settings), settings.model_copy(update={"base_url": base}),
                                   person_identifier=family.heidi.identifier, scopes=CITIZEN_SCOPES)
    async with running(case_system_options(settings, base)) as (system, url), \
            httpx.AsyncClient(base_url=base, timeout=60, transport=transport) as http:
        step("Case system", f"Skedsmo kommune's case system runs at {url}, with a Maskinporten token and a webhook "
             "subscription to both apps' events", url)
        heidi = Citizen(http, token)
        first, last = next_leave_dates(utcnow().date())
        line_party = await heidi.party_of(LEAVE_APP, family.line.given)
        leave, prefilled = await heidi.apply(LEAVE_APP, line_party, {
            "FraDato": first.isoformat(), "TilDato": last.isoformat(),
            "Begrunnelse": "Besøk hos besteforeldre i Tromsø."})
        result.instances[LEAVE_APP] = leave
        child = prefilled.get("Barn") or {}
        step("Leave from school", f"Heidi, acting for Line, applied for {first}–{last}; prefilled from "
             f"Folkeregisteret: {child.get('Navn')}, {child.get('Adresse')} {child.get('Husnummer')}, "
             f"{child.get('Postnummer')} "
             f"{child.get('Poststed')}; from KRR: {(prefilled.get('Soker') or {}).get('Epost')}",
             f"{base}/{LEAVE_APP}/")
        isak_party = await heidi.party_of(KINDERGARTEN_APP, family.isak.given)
        place, _ = await heidi.apply(KINDERGARTEN_APP, isak_party, {
            "OnsketStart": (utcnow().date() + timedelta(days=60)).isoformat(), "Behov": "Kronisk sykdom",
            "BehovBeskrivelse": "Isak trenger hyppige legebesøk og en fast voksen som kjenner medisineringen."})
        result.instances[KINDERGARTEN_APP] = place
        step("Kindergarten place", "Heidi, acting for Isak, applied for a kindergarten place", f"{base}/"
             f"{KINDERGARTEN_APP}/")

        answered = await _wait_for(lambda: _case(system, leave, CaseState.ANSWERED), "the leave's answer", wait_seconds)
        result.cases[LEAVE_APP] = answered
        step("Imported and decided by the rules", f"case {answered.reference}: {answered.outcome} "
             f"({'; '.join(answered.reasons)}); the instance is confirmed complete", url)
        waiting = await _wait_for(lambda: _case(system, place, CaseState.WITH_CASE_WORKER),
                                  "the kindergarten case", wait_seconds)
        step("With a case worker", f"case {waiting.reference} waits on the case worker's page", url)
        async with httpx.AsyncClient(base_url=url, timeout=60) as page:
            decided = await page.post(f"/cases/{waiting.number}/decision", data={
                "outcome": "innvilget", "reason": "Isak får plass i Kjeller barnehage med tilrettelegging."})
            if decided.status_code != 303:  # back to the list of cases, as the page's form goes
                decided.raise_for_status()
        granted = await _wait_for(lambda: _case(system, place, CaseState.ANSWERED), "the place's answer", wait_seconds)
        result.cases[KINDERGARTEN_APP] = granted
        step("Decided by the case worker", f"case {granted.reference}: {granted.outcome}", url)
        step("Answers sent", f"two letters (PDF) to Heidi as correspondence ({answered.correspondence_id}, "
             f"{granted.correspondence_id}), with an e-mail and an SMS notice",
             f"{base}/correspondence/ui, {base}/notifications/email-outbox, {base}/notifications/sms-outbox")
        step("Paper after 10 days", "a letter Heidi has not opened after 10 days is printed and posted",
             f"{base}/print/outbox")
    return result


async def _case(system: CaseSystem, instance_id: str, state: CaseState) -> Case | None:
    case = system.store.by_instance(instance_id)
    return case if case is not None and case.state is state else None
