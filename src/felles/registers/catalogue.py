"""Enhetsregisteret's code lists: role types with their role groups, organisation forms and industry codes.

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

# Næringskoder (Standard for næringsgruppering, SN2007) with brreg's descriptions: the codes the synthetic and
# demo population uses. A code outside this table is shown with its code as its description.
INDUSTRIES: dict[str, str] = {
    "01.110": "Dyrking av korn (unntatt ris), belgvekster og oljeholdige vekster",
    "35.140": "Handel med elektrisitet",
    "41.200": "Oppføring av bygninger",
    "43.210": "Elektrisk installasjonsarbeid",
    "47.110": "Butikkhandel med bredt vareutvalg med hovedvekt på nærings- og nytelsesmidler",
    "49.410": "Godstransport på vei",
    "56.101": "Drift av restauranter og kafeer",
    "62.010": "Programmeringstjenester",
    "68.209": "Utleie av egen eller leid fast eiendom ellers",
    "69.201": "Regnskap og bokføring",
    "69.202": "Revisjon",
    "70.220": "Bedriftsrådgivning og annen administrativ rådgivning",
    "86.211": "Allmenn legetjeneste",
}
