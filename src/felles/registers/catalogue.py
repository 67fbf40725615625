"""Enhetsregisteret's code lists: role types with their role groups, and organisation forms.

Codes and Norwegian names as in Altinn's register and brreg (see shared/reference/notes/identity.md §5.4).
"""

from __future__ import annotations

from typing import NamedTuple


class RoleType(NamedTuple):
    description: str
    group: str


ROLE_GROUPS: dict[str, str] = {
    "DAGL": "Daglig leder/ adm.direktør",
    "STYR": "Styre",
    "INNH": "Innehaver",
    "DELT": "Deltakere",
    "KOMP": "Komplementar",
    "REVI": "Revisor",
    "REGN": "Regnskapsfører",
    "KONT": "Kontaktperson",
    "REPR": "Norsk representant for utenlandsk enhet",
    "BEST": "Bestyrende reder",
    "BOBE": "Bostyrer",
    "FFØR": "Forretningsfører",
    "PROK": "Prokura",
    "SIGN": "Signatur",
}

ROLE_TYPES: dict[str, RoleType] = {
    "DAGL": RoleType("Daglig leder", "DAGL"),
    "LEDE": RoleType("Styrets leder", "STYR"),
    "NEST": RoleType("Nestleder", "STYR"),
    "MEDL": RoleType("Styremedlem", "STYR"),
    "VARA": RoleType("Varamedlem", "STYR"),
    "OBS": RoleType("Observatør", "STYR"),
    "INNH": RoleType("Innehaver", "INNH"),
    "DTPR": RoleType("Deltaker med delt ansvar", "DELT"),
    "DTSO": RoleType("Deltaker med fullt ansvar", "DELT"),
    "KOMP": RoleType("Komplementar", "KOMP"),
    "REVI": RoleType("Revisor", "REVI"),
    "REGN": RoleType("Regnskapsfører", "REGN"),
    "KONT": RoleType("Kontaktperson", "KONT"),
    "KNUF": RoleType("Kontaktperson NUF", "KONT"),
    "REPR": RoleType("Norsk representant for utenlandsk enhet", "REPR"),
    "BEST": RoleType("Bestyrende reder", "BEST"),
    "BOBE": RoleType("Bostyrer", "BOBE"),
    "FFØR": RoleType("Forretningsfører", "FFØR"),
    "PROK": RoleType("Prokura", "PROK"),
    "POFE": RoleType("Prokura i fellesskap", "PROK"),
    "POHV": RoleType("Prokura hver for seg", "PROK"),
    "SIGN": RoleType("Signatur", "SIGN"),
    "SIFE": RoleType("Signatur i fellesskap", "SIGN"),
    "SIHV": RoleType("Signatur hver for seg", "SIGN"),
}

# Altinn's nøkkelroller: holders get the organisation's main rights without any delegation.
KEY_ROLES = frozenset({"DAGL", "LEDE", "INNH", "DTPR", "DTSO", "KOMP", "BEST", "BOBE"})

ORGANIZATION_FORMS: dict[str, str] = {
    "AS": "Aksjeselskap",
    "ASA": "Allmennaksjeselskap",
    "ENK": "Enkeltpersonforetak",
    "ANS": "Ansvarlig selskap",
    "DA": "Selskap med delt ansvar",
    "KS": "Kommandittselskap",
    "NUF": "Norskregistrert utenlandsk foretak",
    "SA": "Samvirkeforetak",
    "STI": "Stiftelse",
    "FLI": "Forening/lag/innretning",
    "STAT": "Staten",
    "KOMM": "Kommune",
    "ORGL": "Organisasjonsledd",
    "BEDR": "Underenhet til næringsdrivende og offentlig forvaltning",
    "AAFY": "Underenhet til ikke-næringsdrivende",
}

SUB_UNIT_FORMS = frozenset({"BEDR", "AAFY"})
