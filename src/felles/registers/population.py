"""A synthetic, consistent and deterministic population for the registers.

Households with parents and children, guardianships, deaths and emigrations; companies whose roles are held
by the seeded persons; accounting and auditing firms serving many companies; KRR entries with a realistic
share reserved, stale or without contact details. The same seed and sizes give the same data.

It streams: rows are made and written batch by batch, and what is kept between batches is bounded (a sample
of adults to draw role holders from, the next free individual number per birth date), so memory does not grow
with the population. On PostgreSQL batches go in with COPY while the next batch is being made.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.db import Database
from felles.core.ids import uuid7
from felles.registers.identifiers import make_organization_number, make_person_identifier
from felles.registers.models import ContactInformation, Guardianship, Organization, ParentChild, Person, Role

GIVEN_NAMES_FEMALE = (
    "Nora", "Emma", "Sofie", "Ingrid", "Olivia", "Sara", "Maja", "Ella", "Anna", "Kari", "Ingeborg", "Hanna",
    "Marit", "Astrid", "Liv", "Solveig", "Eva", "Ida", "Thea", "Silje", "Ragnhild", "Hilde", "Camilla", "Tone",
    "Linnea", "Frida", "Sigrid", "Aurora", "Julie", "Mari", "Berit", "Randi", "Anne", "Inger", "Grete", "Elin",
)
GIVEN_NAMES_MALE = (
    "Jakob", "Emil", "Noah", "Oliver", "Filip", "William", "Lucas", "Henrik", "Ola", "Per", "Lars", "Kjell",
    "Arne", "Knut", "Jan", "Bjørn", "Ole", "Nils", "Hans", "Tor", "Erik", "Magnus", "Sander", "Jonas", "Martin",
    "Anders", "Even", "Sindre", "Aksel", "Tobias", "Håkon", "Geir", "Trond", "Rune", "Odd", "Sverre",
)
FAMILY_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen",
    "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl",
    "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen",
    "Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
    "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård",
    "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge", "Christensen", "Andresen", "Nielsen", "Knudsen",
)
STREETS = (
    "Storgata", "Kirkeveien", "Skolegata", "Parkveien", "Strandgata", "Fjordveien", "Bjørkeveien", "Granveien",
    "Solbakken", "Møllerveien", "Torggata", "Havnegata", "Elvegata", "Løkkeveien", "Furuveien", "Sjøgata",
)
# (postnummer, poststed, kommunenummer)
POSTAL_AREAS = (
    ("0150", "OSLO", "0301"), ("0561", "OSLO", "0301"), ("0870", "OSLO", "0301"), ("5003", "BERGEN", "4601"),
    ("5145", "FYLLINGSDALEN", "4601"), ("7010", "TRONDHEIM", "5001"), ("4006", "STAVANGER", "1103"),
    ("9008", "TROMSØ", "5501"), ("4610", "KRISTIANSAND S", "4204"), ("3015", "DRAMMEN", "3301"),
    ("1530", "MOSS", "3103"), ("2317", "HAMAR", "3403"), ("6002", "ÅLESUND", "1508"), ("8006", "BODØ", "1804"),
    ("3510", "HØNEFOSS", "3305"), ("9730", "KARASJOK", "5610"), ("6856", "SOGNDAL", "4640"), ("1440", "DRØBAK", "3212"),
)
COMPANY_WORDS = (
    "Fjord", "Nord", "Vest", "Bygg", "Data", "Havbruk", "Transport", "Eiendom", "Regnskap", "Elektro", "Rør",
    "Maskin", "Invest", "Handel", "Consult", "Mat", "Design", "Helse", "Energi", "Marine", "Skog", "Fisk", "Tre",
)
# (organisasjonsform, share of main units) — roughly Enhetsregisteret's mix.
ORGANIZATION_FORM_SHARES = (("AS", 0.42), ("ENK", 0.40), ("FLI", 0.06), ("ANS", 0.03), ("DA", 0.02),
                            ("NUF", 0.03), ("SA", 0.01), ("STI", 0.01), ("ASA", 0.002), ("KS", 0.008))
INDUSTRY_CODES = ("62.010", "41.200", "43.210", "47.110", "56.101", "68.209", "70.220", "86.211", "49.410", "01.110")
ACCOUNTING_INDUSTRY, AUDITING_INDUSTRY = "69.201", "69.202"
MAILBOX_PROVIDERS = ("984661185", "922020175")  # Digipost, e-Boks
BATCH_PERSONS = 20_000
BATCH_ORGANIZATIONS = 10_000
ADULT_SAMPLE_SIZE = 100_000
SEED_TIME = datetime(2026, 1, 1, tzinfo=UTC)
TODAY = date(2026, 1, 1)


@dataclass
class Batch:
    """Rows for each table, as tuples in the column order of `COLUMNS`."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {name: [] for name in COLUMNS})

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("national_identity_number", "given_name", "middle_name", "family_name", "birth_date", "gender",
                "status", "date_of_death", "street_address", "postal_code", "postal_place", "municipality_number",
                "updated_at"),
    "parent_child": ("parent", "child", "parent_role"),
    "guardianships": ("id", "ward", "guardian", "guardianship_type", "scope", "service_areas", "appointed_by",
                      "valid_from", "valid_to"),
    "contact_information": ("national_identity_number", "status", "reserved", "reserved_at",
                            "reservation_updated_at", "email", "email_updated_at", "email_verified_at", "mobile",
                            "mobile_updated_at", "mobile_verified_at", "language", "language_updated_at",
                            "mailbox_address", "mailbox_provider"),
    "organizations": ("organization_number", "name", "organization_form", "parent_organization_number",
                      "street_address", "postal_code", "postal_place", "municipality_number", "industry_code",
                      "employees", "notification_email", "notification_mobile", "registered_on", "deleted_on",
                      "bankrupt", "updated_at"),
    "roles": ("id", "organization_number", "role_code", "person", "holder_organization_number", "position",
              "registered_on", "resigned"),
}
TABLES = {"persons": Person, "parent_child": ParentChild, "guardianships": Guardianship,
          "contact_information": ContactInformation, "organizations": Organization, "roles": Role}
# Insert order respects foreign keys: persons before what points at them, parents before sub-units (same batch).
TABLE_ORDER = ("persons", "parent_child", "guardianships", "contact_information", "organizations", "roles")


class PopulationGenerator:
    """Makes persons (household by household) and then organisations, deterministically from one seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        # Next individual number to try per birth date; numbers are handed out from the top of each range and
        # stop above 100 (or 600), leaving the low numbers free for named personas.
        self._next_individual: dict[date, int] = {}
        self.adult_sample: list[str] = []
        self._adults_seen = 0
        self._next_organization_base = 31_000_000
        self.accounting_firms: list[str] = []
        self.auditing_firms: list[str] = []

    # -- identifiers --------------------------------------------------------------------------------------
    def person_identifier(self, birth_date: date) -> tuple[str, date]:
        while True:
            floor, top = (600, 999) if birth_date.year >= 2000 else (100, 499)
            individual = self._next_individual.get(birth_date, top)
            while individual >= floor:
                identifier = make_person_identifier(birth_date, individual, synthetic=True)
                individual -= 1
                if identifier is not None:
                    self._next_individual[birth_date] = individual
                    return identifier, birth_date
            self._next_individual[birth_date] = individual
            birth_date += timedelta(days=1)  # that date is full: the neighbour day takes the person

    def organization_number(self) -> str:
        while True:
            base = self._next_organization_base
            self._next_organization_base += 1
            number = make_organization_number(base)
            if number is not None:
                return number

    # -- persons ------------------------------------------------------------------------------------------
    def _birth_date(self, age_min: int, age_max: int) -> date:
        return TODAY - timedelta(days=self.random.randint(age_min * 365 + 1, age_max * 365 + 364))

    def _address(self) -> tuple[str, str, str, str]:
        postal_code, place, municipality = self.random.choice(POSTAL_AREAS)
        return f"{self.random.choice(STREETS)} {self.random.randint(1, 120)}", postal_code, place, municipality

    def _person(self, batch: Batch, birth_date: date, gender: str, family_name: str,
                address: tuple[str, str, str, str]) -> str:
        identifier, birth_date = self.person_identifier(birth_date)
        names = GIVEN_NAMES_FEMALE if gender == "kvinne" else GIVEN_NAMES_MALE
        given = self.random.choice(names)
        middle = self.random.choice(names) if self.random.random() < 0.15 else None
        roll = self.random.random()
        age = (TODAY - birth_date).days // 365
        status, died = "bosatt", None
        if roll < 0.008 + age / 8000:
            status, died = "doed", TODAY - timedelta(days=self.random.randint(1, 3650))
            died = max(died, birth_date)
        elif roll < 0.013 + age / 8000:
            status = "utflyttet"
        street, postal_code, place, municipality = address
        batch.rows["persons"].append((
            identifier, given, middle, family_name, birth_date, gender, status, died,
            street if status == "bosatt" else None, postal_code if status == "bosatt" else None,
            place if status == "bosatt" else None, municipality if status == "bosatt" else None, SEED_TIME,
        ))
        self._contact_information(batch, identifier, given, family_name, age, status)
        if age >= 18 and status == "bosatt":
            self._sample_adult(identifier)
        return identifier

    def _sample_adult(self, identifier: str) -> None:
        # Reservoir sampling keeps a bounded, uniform sample of adults for role holders and guardians.
        self._adults_seen += 1
        if len(self.adult_sample) < ADULT_SAMPLE_SIZE:
            self.adult_sample.append(identifier)
        else:
            slot = self.random.randrange(self._adults_seen)
            if slot < ADULT_SAMPLE_SIZE:
                self.adult_sample[slot] = identifier

    def _contact_information(self, batch: Batch, identifier: str, given: str, family: str, age: int,
                             status: str) -> None:
        if age < 13 or status == "utflyttet" or self.random.random() < 0.06:
            return  # not in KRR: children, emigrants and people who never logged in
        roll = self.random.random()
        reserved = roll < 0.04
        has_email = not reserved and roll < 0.93
        has_mobile = not reserved and roll < 0.96
        stale = self.random.random() < 0.05  # not confirmed for more than 18 months
        updated = SEED_TIME - timedelta(days=self.random.randint(600, 2000) if stale else self.random.randint(1, 500))
        verified = updated + timedelta(days=self.random.randint(0, 30)) if not stale else updated
        language_roll = self.random.random()
        language = "nn" if language_roll < 0.07 else "en" if language_roll < 0.09 else \
            "se" if language_roll < 0.092 else "nb"
        email = f"{_ascii(given)}.{_ascii(family)}{self.random.randint(1, 9999)}@eksempel.no" if has_email else None
        mobile = f"+47{self.random.choice('49')}{self.random.randint(0, 9_999_999):07d}" if has_mobile else None
        mailbox = self.random.random() < 0.35 and not reserved
        provider = self.random.choice(MAILBOX_PROVIDERS) if mailbox else None
        batch.rows["contact_information"].append((
            identifier, "SLETTET" if status == "doed" else "AKTIV", reserved,
            updated if reserved else None, updated, email, updated if email else None,
            verified if email else None, mobile, updated if mobile else None, verified if mobile else None,
            language, updated, f"{_ascii(given)}.{_ascii(family)}#{identifier[-4:]}" if mailbox else None, provider,
        ))

    def household(self, batch: Batch) -> int:
        """One household: a single person, a couple, or parents with children. Returns persons made."""
        family = self.random.choice(FAMILY_NAMES)
        address = self._address()
        kind = self.random.random()
        if kind < 0.38:  # living alone, any adult age
            self._person(batch, self._birth_date(18, 95), self.random.choice(("mann", "kvinne")), family, address)
            return 1
        mother_birth = self._birth_date(24, 80)
        mother = self._person(batch, mother_birth, "kvinne", family, address)
        partner_role = "medmor" if self.random.random() < 0.01 else "far"
        partner_birth = mother_birth - timedelta(days=self.random.randint(-1500, 2500))
        partner = self._person(batch, partner_birth, "kvinne" if partner_role == "medmor" else "mann", family,
                               address)
        made = 2
        if kind < 0.55:
            return made  # a couple without children at home
        younger_parent_age = (TODAY - max(mother_birth, partner_birth)).days // 365
        for _ in range(self.random.choice((1, 1, 2, 2, 2, 3, 4))):
            child_age = younger_parent_age - self.random.randint(20, 42)
            if child_age < 0:
                break
            child = self._person(batch, self._birth_date(child_age, child_age),
                                 self.random.choice(("mann", "kvinne")), family, address)
            batch.rows["parent_child"].append((mother, child, "mor"))
            batch.rows["parent_child"].append((partner, child, partner_role))
            made += 1
            if child_age < 18 and self.random.random() < 0.004:
                self._guardianship(batch, child, "mindreaarig", "personligeOgOekonomiskeInteresser")
        if self.random.random() < 0.012:
            self._guardianship(batch, mother, "voksen", self.random.choice(
                ("oekonomiskeInteresser", "personligeOgOekonomiskeInteresser", "personligeInteresser")))
        return made

    def _guardianship(self, batch: Batch, ward: str, kind: str, scope: str) -> None:
        if not self.adult_sample:
            return
        guardian = self.random.choice(self.adult_sample)
        if guardian == ward:
            return
        batch.rows["guardianships"].append((
            uuid7(), ward, guardian, kind, scope, None, "Statsforvalteren i Oslo og Viken",
            TODAY - timedelta(days=self.random.randint(30, 3000)), None,
        ))

    def persons(self, count: int) -> Iterator[tuple[Batch, int]]:
        made = 0
        while made < count:
            batch = Batch()
            in_batch = 0
            while in_batch < BATCH_PERSONS and made + in_batch < count:
                in_batch += self.household(batch)
            made += in_batch
            yield batch, in_batch

    # -- organisations -----------------------------------------------------------------------------------
    def _holder(self) -> str:
        return self.random.choice(self.adult_sample)

    def organization(self, batch: Batch, *, industry: str | None = None) -> str:
        forms, weights = zip(*ORGANIZATION_FORM_SHARES, strict=True)
        form = "AS" if industry else self.random.choices(forms, weights)[0]
        number = self.organization_number()
        owner = self._holder()
        word = self.random.choice(COMPANY_WORDS)
        if industry == ACCOUNTING_INDUSTRY:
            name = f"{word} Regnskap AS"
        elif industry == AUDITING_INDUSTRY:
            name = f"{word} Revisjon AS"
        elif form == "ENK":
            name = f"{word} {self.random.choice(FAMILY_NAMES)}"
        else:
            name = f"{word} {self.random.choice(COMPANY_WORDS)} {form}".replace(" FLI", "lag")
        street, postal_code, place, municipality = self._address()
        employees = self.random.choice((0, 0, 1, 2, 3, 5, 8, 12, 25, 60, 250)) if form != "FLI" else None
        registered = TODAY - timedelta(days=self.random.randint(30, 15000))
        deleted = registered + timedelta(days=self.random.randint(1, 3000)) if self.random.random() < 0.03 else None
        deleted = deleted if deleted and deleted < TODAY else None
        slug = _ascii(word)
        batch.rows["organizations"].append((
            number, name, form, None, street, postal_code, place, municipality,
            industry or self.random.choice(INDUSTRY_CODES), employees,
            f"post@{slug}{number[-4:]}.eksempel.no", f"+479{self.random.randint(0, 9_999_999):07d}",
            registered, deleted, self.random.random() < 0.005, SEED_TIME,
        ))
        self._roles(batch, number, form, owner, registered)
        if form in ("AS", "ASA") and employees and employees >= 8 and self.random.random() < 0.5:
            for _ in range(self.random.randint(1, 3)):
                sub_number = self.organization_number()
                sub_street, sub_code, sub_place, sub_municipality = self._address()
                batch.rows["organizations"].append((
                    sub_number, f"{name} avd. {sub_place.title()}", "BEDR", number, sub_street, sub_code,
                    sub_place, sub_municipality, industry or self.random.choice(INDUSTRY_CODES),
                    self.random.randint(1, employees), None, None, registered, None, False, SEED_TIME,
                ))
        return number

    def _role(self, batch: Batch, organization: str, code: str, registered: date, *, person: str | None = None,
              holder: str | None = None, position: int = 0) -> None:
        batch.rows["roles"].append((uuid7(), organization, code, person, holder, position, registered, False))

    def _roles(self, batch: Batch, number: str, form: str, owner: str, registered: date) -> None:
        if form == "ENK":
            self._role(batch, number, "INNH", registered, person=owner)
        elif form in ("ANS", "DA", "KS"):
            partner_code = {"ANS": "DTSO", "DA": "DTPR", "KS": "KOMP"}[form]
            self._role(batch, number, partner_code, registered, person=owner)
            self._role(batch, number, partner_code, registered, person=self._holder(), position=1)
            self._role(batch, number, "DAGL", registered, person=owner)
        elif form == "NUF":
            self._role(batch, number, "REPR", registered, person=owner)
            self._role(batch, number, "DAGL", registered, person=self._holder())
        else:
            self._role(batch, number, "DAGL", registered, person=owner)
            self._role(batch, number, "LEDE", registered, person=self._holder())
            for position in range(self.random.randint(0, 3)):
                self._role(batch, number, "MEDL", registered, person=self._holder(), position=position + 1)
        if form in ("AS", "ASA", "ANS", "DA", "SA", "NUF") or (form == "ENK" and self.random.random() < 0.4):
            if self.accounting_firms and self.random.random() < 0.75:
                self._role(batch, number, "REGN", registered, holder=self.random.choice(self.accounting_firms))
            if self.auditing_firms and form in ("AS", "ASA", "SA") and self.random.random() < 0.4:
                self._role(batch, number, "REVI", registered, holder=self.random.choice(self.auditing_firms))

    def organizations(self, count: int) -> Iterator[tuple[Batch, int]]:
        if count and not self.adult_sample:
            raise ValueError("organisations need seeded adult persons to hold their roles; seed persons too")
        made = 0
        while made < count:
            batch = Batch()
            in_batch = 0
            while in_batch < BATCH_ORGANIZATIONS and made + in_batch < count:
                # One firm in 60 is an accounting firm and one in 250 an auditing firm; each then serves many.
                roll = self.random.random()
                if roll < 1 / 60:
                    self.accounting_firms.append(self.organization(batch, industry=ACCOUNTING_INDUSTRY))
                elif roll < 1 / 60 + 1 / 250:
                    self.auditing_firms.append(self.organization(batch, industry=AUDITING_INDUSTRY))
                else:
                    self.organization(batch)
                in_batch += 1
            made += in_batch
            yield batch, in_batch


_ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A", " ": ""})


def _ascii(value: str) -> str:
    return value.translate(_ASCII).lower()


async def _write_sqlite(session: AsyncSession, batch: Batch) -> None:
    for name in TABLE_ORDER:
        rows = batch.rows[name]
        if rows:
            columns = COLUMNS[name]
            await session.execute(insert(TABLES[name]), [dict(zip(columns, row, strict=True)) for row in rows])


async def _write_postgresql(session: AsyncSession, batch: Batch) -> None:
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    for name in TABLE_ORDER:
        rows = batch.rows[name]
        if not rows:
            continue
        if name == "guardianships":  # COPY's binary JSONB codec takes text
            rows = [(*row[:5], json.dumps(row[5]) if row[5] is not None else None, *row[6:]) for row in rows]
        await raw.copy_records_to_table(name, records=rows, columns=list(COLUMNS[name]))


async def _write(database: Database, batch: Batch) -> None:
    async with database.transaction() as session:
        if database.is_sqlite:
            await _write_sqlite(session, batch)
        else:
            await _write_postgresql(session, batch)


async def seed_population(
    database: Database, *, persons: int, organizations: int, seed: int, console: Console | None = None
) -> bool:
    """Seed `persons` persons and `organizations` organisations (plus their sub-units, roles and KRR entries).

    Skips (returns False) when the registers already hold a generated population, so `make run` can call it
    every time."""
    async with database.transaction() as session:
        existing = await session.scalar(select(func.count()).select_from(Person)) or 0
    if existing > len(DEMO_PERSONS) + len(astuple(JOURNEY_FAMILY)):  # more than the named personas
        if console:
            console.print(f"The registers already hold {existing} persons; seeding skipped.")
        return False
    generator = PopulationGenerator(seed)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, disable=console is None)
    with progress:
        person_task = progress.add_task("Folkeregisteret and KRR", total=persons)
        await _stream(database, generator.persons(persons), progress, person_task)
        organization_task = progress.add_task("Enhetsregisteret", total=organizations)
        await _stream(database, generator.organizations(organizations), progress, organization_task)
    return True


async def _stream(database: Database, batches: Iterator[tuple[Batch, int]], progress: Progress, task: Any) -> None:
    # While one batch is written, the next is made: the database works while Python generates.
    pending: asyncio.Task[None] | None = None
    for batch, made in batches:
        if pending is not None:
            await pending
        pending = asyncio.create_task(_write(database, batch))
        await asyncio.sleep(0)
        progress.advance(task, made)
    if pending is not None:
        await pending


# --- Named demo personas ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoPerson:
    identifier: str
    given: str
    family: str
    birth: date
    gender: str
    email: str | None
    mobile: str | None
    reserved: bool = False


def _demo_identifier(birth: date, individual: int) -> str:
    identifier = make_person_identifier(birth, individual, synthetic=True)
    while identifier is None:  # a remainder-1 number: take the next lower individual number
        individual -= 1
        identifier = make_person_identifier(birth, individual, synthetic=True)
    return identifier


# The family with two children from the 2017 workshop (Sofie is the child with a chronic illness, for whom her
# parents apply for services), and a company with a daglig leder, a board and an accountant. Individual numbers
# below the generator's range never collide.
DEMO_PERSONS = (
    DemoPerson(_demo_identifier(date(1984, 3, 12), 42), "Kari", "Nordmann", date(1984, 3, 12), "kvinne",
               "kari.nordmann@eksempel.no", "+4791234567"),
    DemoPerson(_demo_identifier(date(1982, 11, 2), 51), "Ola", "Nordmann", date(1982, 11, 2), "mann",
               "ola.nordmann@eksempel.no", "+4798765432"),
    DemoPerson(_demo_identifier(date(2012, 6, 20), 560), "Sofie", "Nordmann", date(2012, 6, 20), "kvinne",
               None, None),
    DemoPerson(_demo_identifier(date(2016, 9, 5), 570), "Emil", "Nordmann", date(2016, 9, 5), "mann", None, None),
    DemoPerson(_demo_identifier(date(1970, 1, 15), 33), "Ingrid", "Bakken", date(1970, 1, 15), "kvinne",
               "ingrid.bakken@eksempel.no", "+4741234567"),
    DemoPerson(_demo_identifier(date(1958, 5, 30), 27), "Per", "Haugen", date(1958, 5, 30), "mann",
               "per.haugen@eksempel.no", "+4790011223"),
    DemoPerson(_demo_identifier(date(1991, 8, 8), 64), "Aisha", "Ali", date(1991, 8, 8), "kvinne",
               "aisha.ali@eksempel.no", "+4746655443"),
    DemoPerson(_demo_identifier(date(1977, 2, 14), 71), "Lars", "Regnskap", date(1977, 2, 14), "mann",
               "lars@regnskap.eksempel.no", "+4792233445"),
    DemoPerson(_demo_identifier(date(1949, 12, 24), 18), "Reidun", "Reservert", date(1949, 12, 24), "kvinne",
               None, None, reserved=True),
)
DEMO_COMPANY = make_organization_number(30_999_990) or ""
DEMO_ACCOUNTING_FIRM = make_organization_number(30_999_992) or ""


async def seed_demo_personas(database: Database) -> bool:
    """Add the named personas (idempotent: returns False when they are already there)."""
    kari, ola, sofie, emil, ingrid, per, aisha, lars, _reidun = DEMO_PERSONS
    async with database.transaction() as session:
        if await session.get(Person, kari.identifier) is not None:
            return False
        address = ("Fjordveien 12", "5003", "BERGEN", "4601")
        for persona in DEMO_PERSONS:
            session.add(Person(
                national_identity_number=persona.identifier, given_name=persona.given, middle_name=None,
                family_name=persona.family, birth_date=persona.birth, gender=persona.gender, status="bosatt",
                street_address=address[0], postal_code=address[1], postal_place=address[2],
                municipality_number=address[3], updated_at=SEED_TIME,
            ))
            if persona.birth.year < 2010:
                session.add(ContactInformation(
                    national_identity_number=persona.identifier, status="AKTIV", reserved=persona.reserved,
                    reserved_at=SEED_TIME if persona.reserved else None, reservation_updated_at=SEED_TIME,
                    email=persona.email, email_updated_at=SEED_TIME if persona.email else None,
                    email_verified_at=SEED_TIME if persona.email else None, mobile=persona.mobile,
                    mobile_updated_at=SEED_TIME if persona.mobile else None,
                    mobile_verified_at=SEED_TIME if persona.mobile else None, language="nb",
                    language_updated_at=SEED_TIME,
                ))
        await session.flush()
        for child in (sofie, emil):
            session.add(ParentChild(parent=kari.identifier, child=child.identifier, parent_role="mor"))
            session.add(ParentChild(parent=ola.identifier, child=child.identifier, parent_role="far"))
        for number, name, industry in ((DEMO_COMPANY, "Fjordkraft Demo AS", "35.140"),
                                       (DEMO_ACCOUNTING_FIRM, "Regnskap Demo AS", ACCOUNTING_INDUSTRY)):
            session.add(Organization(
                organization_number=number, name=name, organization_form="AS", street_address="Storgata 1",
                postal_code="0150", postal_place="OSLO", municipality_number="0301", industry_code=industry,
                employees=42 if number == DEMO_COMPANY else 6, notification_email=f"post@{number}.eksempel.no",
                notification_mobile="+4799988877", registered_on=date(2005, 4, 1), bankrupt=False,
                updated_at=SEED_TIME,
            ))
        await session.flush()
        for position, (code, holder) in enumerate((("DAGL", ingrid), ("LEDE", per), ("MEDL", aisha),
                                                    ("MEDL", kari))):
            session.add(Role(id=uuid7(), organization_number=DEMO_COMPANY, role_code=code, person=holder.identifier,
                             position=position, registered_on=date(2019, 1, 1), resigned=False))
        session.add(Role(id=uuid7(), organization_number=DEMO_COMPANY, role_code="REGN",
                         holder_organization_number=DEMO_ACCOUNTING_FIRM, position=0,
                         registered_on=date(2019, 1, 1), resigned=False))
        session.add(Role(id=uuid7(), organization_number=DEMO_ACCOUNTING_FIRM, role_code="DAGL",
                         person=lars.identifier, position=0, registered_on=date(2015, 1, 1), resigned=False))
    return True


# --- The 2017 Skedsmo workshop's family (seed 003), for the journey demo -------------------------------------
@dataclass(frozen=True)
class JourneyFamily:
    """Heidi (36) and Dag Arne (39) moved to Kjeller with Line (6, first grade) and Isak (3, no kindergarten place
    yet, a chronic illness). Synthetic fødselsnumre (month + 80), checked by `is_valid_person_identifier`."""

    heidi: DemoPerson = DemoPerson("17849008129", "Heidi", "Kjeller", date(1990, 4, 17), "kvinne",
                                   "heidi.kjeller@eksempel.no", "+4793456781")
    dag_arne: DemoPerson = DemoPerson("23898709248", "Dag Arne", "Kjeller", date(1987, 9, 23), "mann",
                                      "dag.arne.kjeller@eksempel.no", "+4794567812")
    line: DemoPerson = DemoPerson("11822058584", "Line", "Kjeller", date(2020, 2, 11), "kvinne", None, None)
    isak: DemoPerson = DemoPerson("08852359545", "Isak", "Kjeller", date(2023, 5, 8), "mann", None, None)


JOURNEY_FAMILY = JourneyFamily()
SKEDSMO = "309999827"  # Skedsmo kommune in the demo data (Lillestrøm since 2020; the workshop's name)
KJELLER_ADDRESS = ("Kjellerveien 24", "2007", "KJELLER", "3205")


async def seed_journey_family(database: Database) -> bool:
    """Add the workshop's family (parents with their children, KRR entries for the parents) and Skedsmo kommune
    in Enhetsregisteret; idempotent (False when they are there). Parents act for their minor children through
    Folkeregisteret's parent-child relations, as the authorization's information point reads them."""
    family = JOURNEY_FAMILY
    async with database.transaction() as session:
        if await session.get(Person, family.heidi.identifier) is not None:
            return False
        for persona in (family.heidi, family.dag_arne, family.line, family.isak):
            session.add(Person(
                national_identity_number=persona.identifier, given_name=persona.given, middle_name=None,
                family_name=persona.family, birth_date=persona.birth, gender=persona.gender, status="bosatt",
                street_address=KJELLER_ADDRESS[0], postal_code=KJELLER_ADDRESS[1], postal_place=KJELLER_ADDRESS[2],
                municipality_number=KJELLER_ADDRESS[3], updated_at=SEED_TIME,
            ))
        for parent in (family.heidi, family.dag_arne):
            session.add(ContactInformation(
                national_identity_number=parent.identifier, status="AKTIV", reserved=False, reserved_at=None,
                reservation_updated_at=SEED_TIME, email=parent.email, email_updated_at=SEED_TIME,
                email_verified_at=SEED_TIME, mobile=parent.mobile, mobile_updated_at=SEED_TIME,
                mobile_verified_at=SEED_TIME, language="nb", language_updated_at=SEED_TIME,
            ))
        if await session.get(Organization, SKEDSMO) is None:
            session.add(Organization(
                organization_number=SKEDSMO, name="Skedsmo kommune", organization_form="KOMM",
                street_address="Jonas Lies gate 18", postal_code="2000", postal_place="LILLESTRØM",
                municipality_number="3205", industry_code="84.110", employees=5200,
                notification_email="postmottak@skedsmo.kommune.eksempel.no", notification_mobile="+4766938000",
                registered_on=date(1995, 2, 1), bankrupt=False, updated_at=SEED_TIME,
            ))
        await session.flush()
        for child in (family.line, family.isak):
            session.add(ParentChild(parent=family.heidi.identifier, child=child.identifier, parent_role="mor"))
            session.add(ParentChild(parent=family.dag_arne.identifier, child=child.identifier, parent_role="far"))
    return True
