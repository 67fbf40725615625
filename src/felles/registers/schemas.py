"""API models of the registers, with the real registers' field names (KRR v2, brreg, FREG)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from felles.registers.identifiers import InvalidIdentifier, parse_person_identifier


def _valid_person_identifier(value: str) -> str:
    try:
        return parse_person_identifier(value).value
    except InvalidIdentifier as exc:
        raise ValueError(f"{exc.detail} (rule: {exc.extra['rule']})") from exc


PersonIdentifierStr = Annotated[str, AfterValidator(_valid_person_identifier)]

MAX_KRR_BATCH = 1000


# --- Kontakt- og reservasjonsregisteret -------------------------------------------------------------------
class PersonLookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personidentifikatorer: list[str] = Field(min_length=1, max_length=MAX_KRR_BATCH)


class Kontaktinformasjon(BaseModel):
    epostadresse: str | None = None
    epostadresse_oppdatert: datetime | None = None
    epostadresse_sist_verifisert: datetime | None = None
    mobiltelefonnummer: str | None = None
    mobiltelefonnummer_oppdatert: datetime | None = None
    mobiltelefonnummer_sist_verifisert: datetime | None = None


class DigitalPost(BaseModel):
    postkasseadresse: str
    postkasseleverandoeradresse: str


class KrrPerson(BaseModel):
    personidentifikator: str
    reservasjon: Literal["JA", "NEI"] | None = None
    reservasjonstidspunkt: datetime | None = None
    reservasjon_oppdatert: datetime | None = None
    status: Literal["AKTIV", "SLETTET", "IKKE_REGISTRERT"]
    varslingsstatus: Literal["KAN_VARSLES", "KAN_IKKE_VARSLES"]
    kontaktinformasjon: Kontaktinformasjon | None = None
    digital_post: DigitalPost | None = None
    spraak: str | None = None
    spraak_oppdatert: datetime | None = None


class PersonLookupResponse(BaseModel):
    personer: list[KrrPerson]


class ContactInformationUpdate(BaseModel):
    """What a person may change about themselves in KRR."""

    model_config = ConfigDict(extra="forbid")
    epostadresse: EmailStr | None = None
    mobiltelefonnummer: str | None = Field(default=None, pattern=r"^\+?[0-9]{8,15}$")
    reservasjon: Literal["JA", "NEI"] | None = None
    spraak: Literal["nb", "nn", "en", "se"] | None = None


# --- Folkeregisteret ----------------------------------------------------------------------------------------
# The longest values the person table holds: a longer one is the client's error on every database.
class Navn(BaseModel):
    fornavn: str = Field(max_length=100)
    mellomnavn: str | None = Field(default=None, max_length=100)
    etternavn: str = Field(max_length=100)


class Adresse(BaseModel):
    adressenavn: str | None = Field(default=None, max_length=200)
    postnummer: str | None = Field(default=None, max_length=4)
    poststed: str | None = Field(default=None, max_length=100)
    kommunenummer: str | None = Field(default=None, max_length=4)


class ForeldreBarnRelasjon(BaseModel):
    relatertPersonsIdentifikator: str
    relatertPersonsRolle: Literal["far", "mor", "medmor", "barn"]
    minRolleForPerson: Literal["far", "mor", "medmor", "barn"]


class Tjenesteomraade(BaseModel):
    tjenesteoppgave: str
    tjenestevirksomhet: str


class Verge(BaseModel):
    foedselsEllerDNummer: str
    omfang: str
    tjenesteomraade: list[Tjenesteomraade] = []


class VergemaalEllerFremtidsfullmakt(BaseModel):
    id: str
    type: str
    embete: str
    verge: Verge
    gyldigFraOgMed: date
    gyldigTilOgMed: date | None = None


class FolkeregisterPerson(BaseModel):
    identifikasjonsnummer: str
    navn: Navn
    foedselsdato: date
    kjoenn: str
    status: str
    doedsdato: date | None = None
    bostedsadresse: Adresse | None = None
    foreldreBarnRelasjon: list[ForeldreBarnRelasjon] = []
    vergemaalEllerFremtidsfullmakt: list[VergemaalEllerFremtidsfullmakt] = []
    # Guardianships in which this person is the guardian (verge) of someone else.
    vergeFor: list[str] = []


class PersonBulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    foedselsEllerDNummer: list[str] = Field(min_length=1, max_length=MAX_KRR_BATCH)


class PersonBulkResponse(BaseModel):
    personer: list[FolkeregisterPerson]
    ikkeFunnet: list[str]


class PersonSearchHit(BaseModel):
    identifikasjonsnummer: str
    navn: Navn
    foedselsdato: date
    status: str


class BirthRegistration(BaseModel):
    """A new person: a birth (with parents) or an immigration."""

    model_config = ConfigDict(extra="forbid")
    identifikasjonsnummer: PersonIdentifierStr | None = Field(
        default=None, description="Left out: the register assigns a synthetic number."
    )
    navn: Navn
    foedselsdato: date = Field(ge=date(1854, 1, 1), le=date(2039, 12, 31))
    kjoenn: Literal["mann", "kvinne"]
    mor: PersonIdentifierStr | None = None
    far: PersonIdentifierStr | None = None
    medmor: PersonIdentifierStr | None = None
    bostedsadresse: Adresse | None = None


class DeathRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doedsdato: date


class GuardianshipRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verge: PersonIdentifierStr
    type: Literal[
        "ensligMindreaarigAsylsoeker", "ensligMindreaarigFlyktning", "voksen", "midlertidigForVoksen",
        "mindreaarig", "midlertidigForMindreaarig", "forvaltningUtenforVergemaal", "stadfestetFremtidsfullmakt",
    ]
    omfang: Literal[
        "utlendingssakerPersonligeOgOekonomiskeInteresser", "personligeOgOekonomiskeInteresser",
        "oekonomiskeInteresser", "personligeInteresser",
    ]
    tjenesteomraade: list[Tjenesteomraade] = []
    embete: str = "Statsforvalteren i Oslo og Viken"
    gyldigFraOgMed: date | None = None


class Hendelse(BaseModel):
    """One entry of a register's change feed."""

    sekvensnummer: int
    kilde: str  # which register: folkeregisteret, enhetsregisteret or krr
    hendelsestype: str
    identifikator: str
    tidspunkt: datetime
    data: dict[str, object]


class HendelseFeed(BaseModel):
    hendelser: list[Hendelse]
    nesteSekvensnummer: int


# --- Enhetsregisteret (brreg's JSON) ----------------------------------------------------------------------------
class Kode(BaseModel):
    kode: str
    beskrivelse: str


class BrregAdresse(BaseModel):
    adresse: list[str] = []
    postnummer: str | None = None
    poststed: str | None = None
    kommunenummer: str | None = None
    landkode: str = "NO"
    land: str = "Norge"


class Enhet(BaseModel):
    organisasjonsnummer: str
    navn: str
    organisasjonsform: Kode
    forretningsadresse: BrregAdresse | None = None
    beliggenhetsadresse: BrregAdresse | None = None
    naeringskode1: Kode | None = None
    antallAnsatte: int | None = None
    harRegistrertAntallAnsatte: bool = False
    overordnetEnhet: str | None = None
    registreringsdatoEnhetsregisteret: date
    konkurs: bool = False
    slettedato: date | None = None
    links: dict[str, dict[str, str]] = Field(default_factory=dict, serialization_alias="_links")


class BrregPage(BaseModel):
    size: int
    totalElements: int
    totalPages: int
    number: int


class EnhetListe(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    embedded: dict[str, list[Enhet]] = Field(alias="_embedded", serialization_alias="_embedded")
    page: BrregPage


class RollePersonNavn(BaseModel):
    fornavn: str
    mellomnavn: str | None = None
    etternavn: str


class RollePerson(BaseModel):
    fodselsdato: date
    navn: RollePersonNavn
    erDoed: bool


class RolleEnhet(BaseModel):
    organisasjonsnummer: str
    organisasjonsform: Kode
    navn: list[str]
    erSlettet: bool


class Rolle(BaseModel):
    type: Kode
    person: RollePerson | None = None
    enhet: RolleEnhet | None = None
    fratraadt: bool
    avregistrert: bool
    rekkefolge: int


class Rollegruppe(BaseModel):
    type: Kode
    sistEndret: date
    roller: list[Rolle]


class Roller(BaseModel):
    rollegrupper: list[Rollegruppe]
