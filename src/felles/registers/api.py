"""HTTP API of the registers, at the real registers' paths: KRR's `/rest/v2/personer`, brreg's
`/enhetsregisteret/api/...` and a Folkeregisteret API under `/folkeregisteret/api/v1/...`."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from felles.core.params import MAX_DATABASE_BIG_INTEGER
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import AcceptedTokens, AuthenticatedRoute, Issuer, Principal, require_person, require_scope
from felles.registers import schemas, service, service_changes

router = APIRouter(route_class=AuthenticatedRoute)


def json_response(document: object) -> Response:
    """KRR answers are built as plain data in the service (see `_krr_person`) and sent as they are; times in
    UTC with a `Z`, as the schema's serializer writes them."""
    return Response(orjson.dumps(document, option=orjson.OPT_UTC_Z), media_type="application/json")

KRR_CONTACT_SCOPE = "krr:global/kontaktinformasjon.read"
KRR_DIGITAL_POST_SCOPE = "krr:global/digitalpost.read"
KRR_USER_READ_SCOPE = "krr:user/kontaktinformasjon.read"
KRR_USER_WRITE_SCOPE = "krr:user/kontaktinformasjon.write"
FOLKEREGISTER_READ_SCOPES = (
    "folkeregister:deling/offentligmedhjemmel",
    "folkeregister:deling/offentligutenhjemmel",
    "folkeregister:deling/privatutenhjemmel",
    "folkeregister:deling/finans",
)
FOLKEREGISTER_WRITE_SCOPE = "felles:folkeregisteret.write"

# KRR's lookups and Folkeregisteret take Maskinporten tokens; KRR's own-data API the person's ID-porten token.
KRR_TOKENS = AcceptedTokens(issuers=frozenset({Issuer.MASKINPORTEN}), audiences=("/rest",))
KRR_USER_TOKENS = AcceptedTokens(issuers=frozenset({Issuer.IDPORTEN}), audiences=("/rest",))
FOLKEREGISTERET_TOKENS = AcceptedTokens(issuers=frozenset({Issuer.MASKINPORTEN}), audiences=("/folkeregisteret",))
KrrReader = Annotated[Principal, require_scope(KRR_TOKENS, KRR_CONTACT_SCOPE, KRR_DIGITAL_POST_SCOPE)]
FolkeregisterReader = Annotated[Principal, require_scope(FOLKEREGISTERET_TOKENS, *FOLKEREGISTER_READ_SCOPES)]
FolkeregisterWriter = Annotated[Principal, require_scope(FOLKEREGISTERET_TOKENS, FOLKEREGISTER_WRITE_SCOPE)]
KrrUserReader = Annotated[Principal, require_person(KRR_USER_TOKENS, KRR_USER_READ_SCOPE)]
KrrUserWriter = Annotated[Principal, require_person(KRR_USER_TOKENS, KRR_USER_WRITE_SCOPE)]

PROBLEMS = {400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
            403: {"description": "Missing scope"}}


# --- KRR --------------------------------------------------------------------------------------------------
@router.post("/rest/v2/personer", tags=["krr"], operation_id="krr_lookup_persons",
             response_model=schemas.PersonLookupResponse, response_model_exclude_none=True, responses=PROBLEMS)
async def lookup_persons(
    database: DatabaseDep, principal: KrrReader, request: schemas.PersonLookupRequest
) -> Response:
    """Contact information and reservation for 1 to 1,000 persons (Oppslagstjenesten for kontakt- og
    reservasjonsregisteret)."""
    return json_response(await service.lookup_contact_information(
        database, principal.audit_actor, request.personidentifikatorer,
        contact=KRR_CONTACT_SCOPE in principal.scopes, digital_post=KRR_DIGITAL_POST_SCOPE in principal.scopes,
    ))


@router.get("/rest/v1/person", tags=["krr"], operation_id="krr_own_contact_information",
            response_model=schemas.KrrPerson, response_model_exclude_none=True, responses=PROBLEMS)
async def own_contact_information(database: DatabaseDep, principal: KrrUserReader) -> Response:
    """What KRR holds about me."""
    return json_response(await service.own_contact_information(database, principal.person_identifier or ""))


@router.patch("/rest/v1/person", tags=["krr"], operation_id="krr_update_own_contact_information",
              response_model=schemas.KrrPerson, response_model_exclude_none=True, responses=PROBLEMS)
async def update_own_contact_information(
    database: DatabaseDep, principal: KrrUserWriter, update: schemas.ContactInformationUpdate
) -> Response:
    """Change my e-mail address, mobile number, reservation against digital communication, or language."""
    return json_response(
        await service.update_own_contact_information(database, principal.person_identifier or "", update)
    )


# --- Folkeregisteret --------------------------------------------------------------------------------------------
@router.get("/folkeregisteret/api/v1/personer/{personidentifikator}", tags=["folkeregisteret"],
            operation_id="freg_get_person", response_model=schemas.FolkeregisterPerson,
            response_model_exclude_none=True, responses={**PROBLEMS, 404: {"description": "Not found"}})
async def get_person(
    database: DatabaseDep, principal: FolkeregisterReader, personidentifikator: str
) -> schemas.FolkeregisterPerson:
    return await service.get_person(database, principal.audit_actor, personidentifikator)


@router.post("/folkeregisteret/api/v1/personer/bulkoppslag", tags=["folkeregisteret"],
             operation_id="freg_get_persons", response_model=schemas.PersonBulkResponse,
             response_model_exclude_none=True, responses=PROBLEMS)
async def get_persons(
    database: DatabaseDep, principal: FolkeregisterReader, request: schemas.PersonBulkRequest
) -> schemas.PersonBulkResponse:
    return await service.get_persons(database, principal.audit_actor, request.foedselsEllerDNummer)


@router.get("/folkeregisteret/api/v1/personer", tags=["folkeregisteret"], operation_id="freg_search_persons",
            response_model=list[schemas.PersonSearchHit], responses=PROBLEMS)
async def search_persons(
    database: DatabaseDep,
    principal: FolkeregisterReader,
    navn: Annotated[str, Query(min_length=1, max_length=200)],
    antall: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[schemas.PersonSearchHit]:
    """Find persons by name (given and/or family name, by prefix)."""
    return await service.search_persons(database, principal.audit_actor, name=navn, limit=antall)


@router.get("/folkeregisteret/api/v1/hendelser/feed", tags=["folkeregisteret"], operation_id="freg_feed",
            response_model=schemas.HendelseFeed, responses=PROBLEMS)
async def folkeregister_feed(
    database: DatabaseDep,
    _principal: FolkeregisterReader,
    seq: Annotated[int, Query(ge=0, le=MAX_DATABASE_BIG_INTEGER)] = 0,
    antall: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> schemas.HendelseFeed:
    """Births, deaths (and corrections), moves and guardianship changes after sequence number `seq`."""
    return await service_changes.change_feed(database, service.FOLKEREGISTERET, after=seq, limit=antall)


@router.get("/rest/v2/hendelser/feed", tags=["krr"], operation_id="krr_feed",
            response_model=schemas.HendelseFeed, responses=PROBLEMS)
async def krr_feed(
    database: DatabaseDep,
    _principal: KrrReader,
    seq: Annotated[int, Query(ge=0, le=MAX_DATABASE_BIG_INTEGER)] = 0,
    antall: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> schemas.HendelseFeed:
    """Changes of contact information and reservations after sequence number `seq`."""
    return await service_changes.change_feed(database, service.KRR, after=seq, limit=antall)


@router.post("/folkeregisteret/api/v1/personer", tags=["folkeregisteret"], operation_id="freg_register_birth",
             status_code=status.HTTP_201_CREATED, response_model=schemas.FolkeregisterPerson,
             response_model_exclude_none=True, responses={**PROBLEMS, 409: {"description": "Conflict"}})
async def register_birth(
    database: DatabaseDep, principal: FolkeregisterWriter, registration: schemas.BirthRegistration
) -> schemas.FolkeregisterPerson:
    return await service_changes.register_birth(database, principal.audit_actor, registration)


@router.put("/folkeregisteret/api/v1/personer/{personidentifikator}/doedsfall", tags=["folkeregisteret"],
            operation_id="freg_register_death", status_code=status.HTTP_204_NO_CONTENT,
            responses={**PROBLEMS, 404: {"description": "Not found"}, 409: {"description": "Conflict"}})
async def register_death(
    database: DatabaseDep, principal: FolkeregisterWriter, personidentifikator: str,
    registration: schemas.DeathRegistration,
) -> None:
    await service_changes.register_death(database, principal.audit_actor, personidentifikator, registration.doedsdato)


@router.delete("/folkeregisteret/api/v1/personer/{personidentifikator}/doedsfall", tags=["folkeregisteret"],
               operation_id="freg_correct_death", status_code=status.HTTP_204_NO_CONTENT,
               responses={**PROBLEMS, 404: {"description": "Not found"}, 409: {"description": "Conflict"}})
async def correct_death(database: DatabaseDep, principal: FolkeregisterWriter, personidentifikator: str) -> None:
    """Annul a wrongly registered death."""
    await service_changes.correct_death(database, principal.audit_actor, personidentifikator)


@router.put("/folkeregisteret/api/v1/personer/{personidentifikator}/bostedsadresse", tags=["folkeregisteret"],
            operation_id="freg_register_move", status_code=status.HTTP_204_NO_CONTENT,
            responses={**PROBLEMS, 404: {"description": "Not found"}, 409: {"description": "Conflict"}})
async def register_move(
    database: DatabaseDep, principal: FolkeregisterWriter, personidentifikator: str, address: schemas.Adresse
) -> None:
    await service_changes.register_move(database, principal.audit_actor, personidentifikator, address)


@router.post("/folkeregisteret/api/v1/personer/{personidentifikator}/vergemaal", tags=["folkeregisteret"],
             operation_id="freg_add_guardianship", status_code=status.HTTP_201_CREATED,
             response_model=schemas.VergemaalEllerFremtidsfullmakt,
             responses={**PROBLEMS, 404: {"description": "Not found"}, 409: {"description": "Conflict"}})
async def add_guardianship(
    database: DatabaseDep, principal: FolkeregisterWriter, personidentifikator: str,
    registration: schemas.GuardianshipRegistration,
) -> schemas.VergemaalEllerFremtidsfullmakt:
    return await service_changes.add_guardianship(database, principal.audit_actor, personidentifikator, registration)


@router.delete("/folkeregisteret/api/v1/personer/{personidentifikator}/vergemaal/{vergemaal_id}",
               tags=["folkeregisteret"], operation_id="freg_end_guardianship",
               status_code=status.HTTP_204_NO_CONTENT, responses={**PROBLEMS, 404: {"description": "Not found"}})
async def end_guardianship(
    database: DatabaseDep, principal: FolkeregisterWriter, personidentifikator: str, vergemaal_id: str
) -> None:
    await service_changes.end_guardianship(database, principal.audit_actor, personidentifikator, vergemaal_id)


# --- Enhetsregisteret (open data, as brreg's) -----------------------------------------------------------------
@router.get("/enhetsregisteret/api/enheter/{organisasjonsnummer}", tags=["enhetsregisteret"],
            operation_id="er_get_unit", response_model=schemas.Enhet, response_model_exclude_none=True,
            responses={400: {"description": "Invalid number"}, 404: {"description": "Not found"}})
async def get_unit(runtime: RuntimeDep, organisasjonsnummer: str) -> schemas.Enhet:
    return await service.get_organization(runtime.database, organisasjonsnummer, base_url=runtime.settings.base_url)


@router.get("/enhetsregisteret/api/underenheter/{organisasjonsnummer}", tags=["enhetsregisteret"],
            operation_id="er_get_sub_unit", response_model=schemas.Enhet, response_model_exclude_none=True,
            responses={400: {"description": "Invalid number"}, 404: {"description": "Not found"}})
async def get_sub_unit(runtime: RuntimeDep, organisasjonsnummer: str) -> schemas.Enhet:
    return await service.get_organization(runtime.database, organisasjonsnummer, base_url=runtime.settings.base_url)


@router.get("/enhetsregisteret/api/enheter", tags=["enhetsregisteret"], operation_id="er_search_units",
            response_model=schemas.EnhetListe, response_model_exclude_none=True, response_model_by_alias=True,
            responses={400: {"description": "Invalid paging"}})
async def search_units(
    runtime: RuntimeDep,
    navn: Annotated[str | None, Query(max_length=200)] = None,
    organisasjonsform: Annotated[str | None, Query(max_length=8)] = None,
    page: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> schemas.EnhetListe:
    return await service.search_organizations(
        runtime.database, name=navn, organization_form=organisasjonsform, parent=None, sub_units=False,
        page=page, size=size, base_url=runtime.settings.base_url,
    )


@router.get("/enhetsregisteret/api/underenheter", tags=["enhetsregisteret"], operation_id="er_search_sub_units",
            response_model=schemas.EnhetListe, response_model_exclude_none=True, response_model_by_alias=True,
            responses={400: {"description": "Invalid paging"}})
async def search_sub_units(
    runtime: RuntimeDep,
    navn: Annotated[str | None, Query(max_length=200)] = None,
    overordnetEnhet: Annotated[str | None, Query(max_length=9)] = None,
    page: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> schemas.EnhetListe:
    return await service.search_organizations(
        runtime.database, name=navn, organization_form=None, parent=overordnetEnhet, sub_units=True,
        page=page, size=size, base_url=runtime.settings.base_url,
    )


@router.get("/enhetsregisteret/api/enheter/{organisasjonsnummer}/roller", tags=["enhetsregisteret"],
            operation_id="er_get_roles", response_model=schemas.Roller, response_model_exclude_none=True,
            responses={400: {"description": "Invalid number"}, 404: {"description": "Not found"}})
async def get_roles(database: DatabaseDep, organisasjonsnummer: str) -> schemas.Roller:
    return await service.get_roles(database, organisasjonsnummer)
