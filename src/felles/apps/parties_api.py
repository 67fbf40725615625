"""Who calls an app and whom they act for, at app-lib's paths: the profile, the parties, the chosen party."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from felles.apps import parties
from felles.apps.dependencies import AppDep, CallerDep
from felles.core.errors import InvalidInput
from felles.core.params import MAX_DATABASE_INTEGER
from felles.core.runtime import DatabaseDep
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(prefix="/{org}/{app}", tags=["apps"], route_class=AuthenticatedRoute)

PROBLEMS = {401: {"description": "No valid token"}, 404: {"description": "No such app"}}
PartyIdQuery = Annotated[int, Query(alias="partyId", ge=1, le=MAX_DATABASE_INTEGER, description="A party's id")]


def _query_flag(request: Request, name: str) -> bool:
    """A true/false query parameter named in any case: app-lib reads them so (ASP.NET's binding), and Altinn's
    frontend asks for `allowedtoinstantiatefilter=true`."""
    values = [value for key, value in request.query_params.multi_items() if key.lower() == name.lower()]
    return bool(values) and values[-1].strip().lower() in ("true", "1")


def _remember(response: Response, request: Request, party_id: int) -> None:
    """Keep the chosen party in Altinn's cookie (for the whole site, as Altinn's apps share it)."""
    response.set_cookie(parties.PARTY_COOKIE, str(party_id), path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


@router.get("/api/v1/profile/user", operation_id="apps_profile_user",
            responses={**PROBLEMS, 400: {"description": "The caller is not a person"}})
async def get_user_profile(database: DatabaseDep, app: AppDep, caller: CallerDep) -> dict[str, Any]:
    """The logged-in person's profile: their party, e-mail, mobile and language (identity numbers masked)."""
    if not caller.is_person:
        raise InvalidInput("Only a person has a user profile.", code="not_a_person")
    own = await parties.caller_parties(database, caller, app.definition)
    profile = await parties.user_profile(database, caller, own.own)
    return {**profile, "party": parties.masked(profile["party"])}


@router.get("/api/v1/parties", operation_id="apps_parties", responses=PROBLEMS)
async def get_parties(
    request: Request, database: DatabaseDep, app: AppDep, caller: CallerDep,
    allowed_to_instantiate: Annotated[bool, Query(alias="allowedToInstantiateFilter",
                                                  description="Named in any case")] = False,
) -> list[dict[str, Any] | None]:
    """The parties the caller can act for; with the filter, only those the app's partyTypesAllowed lets start
    it (a main unit kept only for its sub-units is marked onlyHierarchyElementWithNoAccess)."""
    found = await parties.caller_parties(database, caller, app.definition)
    filtered = allowed_to_instantiate or _query_flag(request, "allowedToInstantiateFilter")
    listed = found.allowed_to_instantiate if filtered else found.parties
    return [parties.masked(party) for party in listed]


@router.get("/api/authorization/parties/current", operation_id="apps_current_party", responses=PROBLEMS)
async def get_current_party(
    request: Request, database: DatabaseDep, app: AppDep, caller: CallerDep,
    return_party_object: Annotated[bool, Query(alias="returnPartyObject", description="Named in any case")] = False,
) -> Response:
    """The party the caller acts for: the one chosen (cookie AltinnPartyId) while they may still act for it,
    otherwise themselves (and the cookie is set so)."""
    current = await parties.current_party(database, caller, app.definition, request.cookies.get(parties.PARTY_COOKIE))
    as_object = return_party_object or _query_flag(request, "returnPartyObject")
    response = JSONResponse(parties.masked(current.party) if as_object else current.party["partyId"])
    if current.reset_cookie:
        _remember(response, request, current.party["partyId"])
    return response


@router.put("/api/v1/parties/{party_id}", operation_id="apps_select_party",
            responses={**PROBLEMS, 400: {"description": "The caller cannot act for that party"},
                       200: {"description": "Chosen", "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def select_party(
    request: Request, database: DatabaseDep, app: AppDep, caller: CallerDep,
    party_id: Annotated[int, Path(ge=1, le=MAX_DATABASE_INTEGER)],
) -> Response:
    """Choose the party to act for; it is kept in the cookie AltinnPartyId."""
    await parties.select_party(database, caller, app.definition, party_id)
    response = PlainTextResponse("Party successfully updated")
    _remember(response, request, party_id)
    return response


@router.post("/api/v1/parties/validateInstantiation", operation_id="apps_validate_instantiation",
             responses=PROBLEMS)
async def validate_instantiation(database: DatabaseDep, app: AppDep, caller: CallerDep,
                                 party_id: PartyIdQuery) -> dict[str, Any]:
    """Whether the caller may start the app for a party; when not, why, and the parties they may start it for."""
    return await parties.validate_instantiation(database, caller, app.definition, party_id)
