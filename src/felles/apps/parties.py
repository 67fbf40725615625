"""Whom a caller can act for in an app, and who the caller is: Altinn's Party and UserProfile, as app-lib serves them.

A person's parties are the authorized parties (Altinn's avgiverliste: themselves, the organisations they hold
roles, packages or rights in, with their sub-units); the ones an app lets instantiate are those of the party
types its `partyTypesAllowed` names (all of them when it names none), as app-lib filters them. An organisation
or a service owner calling with its own token acts for itself only.

The party a person has chosen is kept in the `AltinnPartyId` cookie, as Altinn's apps keep it; a choice the person
may no longer act for falls back to the person themselves.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from felles.apps.access import Caller
from felles.apps.definition import AppDefinition
from felles.apps.metadata import party_types_allowed
from felles.apps.prefill import SOURCES, PrefillSources
from felles.authorization import service as authorization
from felles.authorization.schemas import AuthorizedParty
from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.registers import service as registers

PARTY_COOKIE = "AltinnPartyId"
# Altinn's PartyType (register): a sub-unit is an organisation whose unit type says so.
PERSON, ORGANISATION = 1, 2
SUB_UNIT_TYPES = frozenset({"BEDR", "AAFY"})
BANKRUPTCY_ESTATE_TYPE = "KBO"
# Altinn's UserType: a person logged in with a national identity number.
SSN_IDENTIFIED = 1
SSN_VISIBLE_DIGITS = 6
_STREET = re.compile(r"^(?P<street>.*?)\s+(?P<number>\d+)\s*(?P<letter>[A-Za-z]?)$")


# --- Party documents --------------------------------------------------------------------------------------------
def _party(*, party_id: int, party_uuid: Any, person: bool, identifier: str, name: str | None,
           unit_type: str | None = None, is_deleted: bool = False) -> dict[str, Any]:
    return {
        "partyId": party_id, "partyUuid": str(party_uuid), "partyTypeName": PERSON if person else ORGANISATION,
        "orgNumber": None if person else identifier, "ssn": identifier if person else None,
        "unitType": unit_type, "name": name, "isDeleted": is_deleted, "onlyHierarchyElementWithNoAccess": False,
        "person": None, "organization": None, "childParties": None,
    }


def _listed(party: AuthorizedParty) -> dict[str, Any]:
    listed = _party(party_id=party.partyId, party_uuid=party.partyUuid, person=party.type == "Person",
                    identifier=party.personId or party.organizationNumber or "", name=party.name,
                    unit_type=party.unitType, is_deleted=party.isDeleted)
    if party.type == "Organization":
        listed["childParties"] = [_listed(unit) for unit in party.subunits]
    return listed


async def _person_details(database: Database, actor: Actor, identifier: str, *, contact: bool = True) -> dict[str, Any]:
    """Altinn's Person: Folkeregisteret's name and address, and (`contact`) KRR's mobile number."""
    person = await registers.get_person(database, actor, identifier)
    mobile = None
    if contact:
        found = (await registers.lookup_contact_information(
            database, actor, [identifier], contact=True, digital_post=False))["personer"][0]
        mobile = (found.get("kontaktinformasjon") or {}).get("mobiltelefonnummer")
    names = person.navn
    full_name = " ".join(part for part in (names.fornavn, names.mellomnavn, names.etternavn) if part)
    address = person.bostedsadresse
    street = _STREET.match(address.adressenavn or "") if address else None
    mailing = " ".join(part for part in (address.adressenavn, address.postnummer, address.poststed) if part) \
        if address else None
    return {
        "ssn": identifier, "name": full_name, "firstName": names.fornavn, "middleName": names.mellomnavn,
        "lastName": names.etternavn, "telephoneNumber": None, "mobileNumber": mobile,
        "mailingAddress": mailing, "mailingPostalCode": address.postnummer if address else None,
        "mailingPostalCity": address.poststed if address else None,
        "addressMunicipalNumber": address.kommunenummer if address else None, "addressMunicipalName": None,
        "addressStreetName": street["street"] if street else (address.adressenavn if address else None),
        "addressHouseNumber": street["number"] if street else None,
        "addressHouseLetter": (street["letter"] or None) if street else None,
        "addressPostalCode": address.postnummer if address else None,
        "addressCity": address.poststed if address else None,
        "dateOfDeath": person.doedsdato.isoformat() if person.doedsdato else None,
    }


async def _organization_details(database: Database, identifier: str) -> dict[str, Any]:
    """Altinn's Organization from Enhetsregisteret."""
    unit = await registers.get_organization(database, identifier, base_url="")
    business = unit.forretningsadresse or unit.beliggenhetsadresse
    street = " ".join(business.adresse) if business else None
    return {
        "orgNumber": identifier, "name": unit.navn, "unitType": unit.organisasjonsform.kode,
        "telephoneNumber": None, "mobileNumber": None, "faxNumber": None, "eMailAddress": None,
        "internetAddress": None, "mailingAddress": street,
        "mailingPostalCode": business.postnummer if business else None,
        "mailingPostalCity": business.poststed if business else None, "businessAddress": street,
        "businessPostalCode": business.postnummer if business else None,
        "businessPostalCity": business.poststed if business else None,
        "unitStatus": "Slettet" if unit.slettedato else ("Konkurs" if unit.konkurs else "N"),
    }


async def party_document(database: Database, actor: Actor, which: authorization.PartyRef | int, *,
                         contact: bool = True) -> dict[str, Any]:
    """The party (given, or by its id) as Altinn's Party, with its person's or organisation's register details
    (a person's mobile number from KRR only with `contact`)."""
    ref = await authorization.party_by_id(database, which) if isinstance(which, int) else which
    if ref is None or ref.kind not in ("person", "organization"):
        raise NotFound(f"No party {which if isinstance(which, int) else which.party_id}.", code="party_not_found")
    person = ref.kind == "person"
    party = _party(party_id=ref.party_id, party_uuid=ref.party_uuid, person=person, identifier=ref.identifier,
                   name=ref.name, unit_type=ref.unit_type, is_deleted=ref.is_deleted)
    try:
        if person:
            party["person"] = await _person_details(database, actor, ref.identifier, contact=contact)
            party["name"] = party["name"] or party["person"]["name"]
        else:
            party["organization"] = await _organization_details(database, ref.identifier)
            party["unitType"] = party["unitType"] or party["organization"]["unitType"]
    except NotFound:
        pass  # a party the registers no longer hold: its name and number are all there is
    return party


def masked(party: dict[str, Any] | None) -> dict[str, Any] | None:
    """The party as app-lib hands it out: national identity numbers cut to their first six digits (birth date),
    in the party, its person and its child parties."""
    if party is None:
        return None
    shown = dict(party)
    shown["ssn"] = _mask(party.get("ssn"))
    if party.get("person"):
        shown["person"] = {**party["person"], "ssn": _mask(party["person"].get("ssn"))}
    if party.get("childParties") is not None:
        shown["childParties"] = [masked(child) for child in party["childParties"]]
    return shown


def _mask(identifier: str | None) -> str | None:
    if not identifier:
        return identifier
    if len(identifier) <= SSN_VISIBLE_DIGITS:
        return "*" * len(identifier)
    return identifier[:SSN_VISIBLE_DIGITS] + "*" * (len(identifier) - SSN_VISIBLE_DIGITS)


# --- Which parties may instantiate ------------------------------------------------------------------------------
def party_type_allowed(definition: AppDefinition, party: dict[str, Any]) -> bool:
    """Whether the app's `partyTypesAllowed` lets this party instantiate (app-lib's rule: a main unit counts as
    an organisation, BEDR/AAFY as a sub-unit, KBO as a bankruptcy estate; nothing named allows all)."""
    allowed = party_types_allowed(definition)
    if not any(allowed.values()):
        return True
    if party["partyTypeName"] == PERSON:
        return allowed["person"]
    unit_type = (party.get("unitType") or "").strip()
    if unit_type in SUB_UNIT_TYPES:
        return allowed["subUnit"]
    return allowed["organisation"] or (unit_type == BANKRUPTCY_ESTATE_TYPE and allowed["bankruptcyEstate"])


def _allowed_to_instantiate(definition: AppDefinition, parties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """app-lib's filter: a party of an allowed type, with its allowed child parties; a main unit of no allowed
    type stays only to hold allowed child parties, marked as such."""
    kept = []
    for party in parties:
        children = [child for child in party.get("childParties") or [] if party_type_allowed(definition, child)]
        allowed = party_type_allowed(definition, party)
        if allowed or children:
            kept.append({**party, "childParties": children, "onlyHierarchyElementWithNoAccess": not allowed})
    return kept


def _flatten(parties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [found for party in parties for found in (party, *_flatten(party.get("childParties") or []))]


@dataclass(frozen=True)
class CallerParties:
    """Who calls, the parties they can act for, and those the app lets instantiate."""

    own: dict[str, Any]  # the caller's own party, with register details
    parties: list[dict[str, Any]]
    allowed_to_instantiate: list[dict[str, Any]]

    def can_represent(self, party_id: int) -> bool:
        return party_id == self.own["partyId"] or any(p["partyId"] == party_id for p in _flatten(self.parties))

    def can_instantiate_as(self, party_id: int) -> bool:
        return any(party["partyId"] == party_id and not party["onlyHierarchyElementWithNoAccess"]
                   for party in _flatten(self.allowed_to_instantiate))


async def caller_parties(database: Database, caller: Caller, definition: AppDefinition) -> CallerParties:
    """The parties the caller can act for; a person's from the authorized parties, an organisation's itself."""
    own_ref = await authorization.party_of(database, caller.subject)
    own = await party_document(database, Actor(caller.actor), own_ref.party_id)
    if caller.is_person:
        authorized = await authorization.authorized_parties(database, Actor(caller.actor), caller.subject,
                                                            include_access_packages=False, include_resources=False)
        parties = [_listed(party) for party in authorized] or [own]
    else:
        parties = [own]
    return CallerParties(own, parties, _allowed_to_instantiate(definition, parties))


def selected_party_id(found: CallerParties, cookie: str | None) -> int:
    """The party chosen in the cookie when the caller can still act for it, otherwise the caller's own."""
    chosen = int(cookie) if cookie and cookie.isdigit() and len(cookie) < 10 else None
    if chosen is not None and found.can_represent(chosen):
        return chosen
    own: int = found.own["partyId"]
    return own


@dataclass(frozen=True)
class CurrentParty:
    party: dict[str, Any]  # with register details, unmasked
    caller_parties: CallerParties
    reset_cookie: bool  # the cookie named a party the caller may no longer act for


async def current_party(database: Database, caller: Caller, definition: AppDefinition,
                        cookie: str | None) -> CurrentParty:
    """The party the caller acts for: a person's choice (the cookie) while they may act for it, otherwise the
    caller's own party."""
    found = await caller_parties(database, caller, definition)
    own_id: int = found.own["partyId"]
    chosen = selected_party_id(found, cookie) if caller.is_person else own_id
    party = found.own if chosen == own_id else await party_document(database, Actor(caller.actor), chosen)
    return CurrentParty(party, found, caller.is_person and cookie is not None and cookie != str(chosen))


async def select_party(database: Database, caller: Caller, definition: AppDefinition, party_id: int) -> None:
    """Refuse (400) a party the caller cannot act for; the caller's API then keeps it in the cookie."""
    if not (await caller_parties(database, caller, definition)).can_represent(party_id):
        raise InvalidInput(f"You cannot represent party {party_id}.", code="party_not_representable")


async def validate_instantiation(database: Database, caller: Caller, definition: AppDefinition,
                                 party_id: int) -> dict[str, Any]:
    """app-lib's InstantiationValidationResult: whether the caller may start the app for this party."""
    found = await caller_parties(database, caller, definition)
    result: dict[str, Any] = {"valid": True, "customTextKey": None, "customTextParameters": None, "message": None,
                              "validParties": None}
    if caller.service_owner is not None and not caller.is_person:
        return result
    if not found.can_represent(party_id):
        message = "The user does not represent the supplied party"
    elif not found.can_instantiate_as(party_id):
        message = "The supplied party is not allowed to instantiate the application"
    else:
        return result
    return {**result, "valid": False, "message": message,
            "validParties": [masked(party) for party in found.allowed_to_instantiate]}


# --- The user's profile -----------------------------------------------------------------------------------------
async def user_profile(database: Database, caller: Caller, own_party: dict[str, Any]) -> dict[str, Any]:
    """Altinn's UserProfile of a person: their party, and KRR's e-mail, mobile, reservation and language."""
    contact = await registers.own_contact_information(database, caller.subject)
    details = contact.get("kontaktinformasjon") or {}
    return {
        "userId": caller.user_id or 0, "userUuid": None, "userName": None, "externalIdentity": None,
        "isReserved": contact.get("reservasjon") == "JA", "phoneNumber": details.get("mobiltelefonnummer"),
        "email": details.get("epostadresse"), "partyId": own_party["partyId"], "party": own_party,
        "userType": SSN_IDENTIFIED,
        "profileSettingPreference": {"language": contact.get("spraak") or "nb", "preSelectedPartyId": 0,
                                     "doNotPromptForParty": False},
    }


# --- Prefill sources --------------------------------------------------------------------------------------------
def _pascal(name: str) -> str:
    """A JSON property's name as app-lib's C# models spell it (prefill configurations name them so)."""
    return "SSN" if name == "ssn" else name[:1].upper() + name[1:]


def _flattened(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in document.items():
        path = prefix + _pascal(name)
        if isinstance(value, dict):
            values.update(_flattened(value, path + "."))
        elif value is not None and not isinstance(value, list):
            values[path] = value
    return values


def prefill_sources(party: dict[str, Any] | None, profile: dict[str, Any] | None) -> PrefillSources:
    """The prefill sources of an instance for `party` (unmasked, with its register details), started by the
    person whose profile is given (None for an organisation or a service owner): Enhetsregisteret for an
    organisation, Folkeregisteret for a person, the profile for the user. Field names are app-lib's (`SSN`,
    `FirstName`, `AddressStreetName`, `OrgNumber`, `Email`, `Party.Person.LastName` …)."""
    return PrefillSources(
        er=_flattened(party["organization"]) if party and party.get("organization") else None,
        dsf=_flattened(party["person"]) if party and party.get("person") else None,
        user_profile=_flattened(profile) if profile is not None else None,
    )


async def registers_prefill_sources(database: Database, caller: Caller, owner: authorization.PartyRef | int, *,
                                    sources: Collection[str] = SOURCES,
                                    contact: bool = True) -> PrefillSources:
    """The prefill sources of a form for the party `owner`, started by `caller`: the party's Folkeregisteret
    or Enhetsregisteret details, and a person caller's profile (KRR's e-mail and mobile, their own party). Only
    the `sources` asked for are looked up (each lookup is audited, and a few queries), and KRR for a person
    party only with `contact` (its mobile number) or a profile."""
    actor = Actor(caller.actor)
    party = await party_document(database, actor, owner, contact=contact or "UserProfile" in sources) \
        if {"DSF", "ER"} & set(sources) else None
    profile = None
    if caller.is_person and "UserProfile" in sources:
        own_ref = await authorization.party_of(database, caller.subject)
        own = party if party is not None and own_ref.party_id == party["partyId"] else \
            await party_document(database, actor, own_ref)
        profile = await user_profile(database, caller, own)
    return prefill_sources(party, profile)
