"""Min profil: the person's settings page. Language, favourite parties, addresses verified by code, and the
e-mail address and mobile number to be notified at for each organisation they may act for (the addresses Varsling
then uses for them). The person logs in through the portal's ID-porten login; every form carries the session's
form token; each change goes through the profile service and comes back to the page (post/redirect/get)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from felles.core.errors import Problem
from felles.core.i18n import translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page
from felles.profile import addresses, schemas, service

router = APIRouter(include_in_schema=False)

PAGE_PATH = "/profile/ui"
FORM_PURPOSE = "profile"
DONE_MESSAGES = frozenset({"language", "favorite_added", "favorite_removed", "code_sent", "verified",
                           "address_saved", "address_deleted"})


def _validation_message(error: ValidationError) -> str:
    return "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in error.errors())


async def _page(request: Request, runtime: Runtime, person: str, *, done: str | None = None,
                problem: str | None = None, pending: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    database = runtime.database
    parties = sorted((await service.acting_parties(database, person)).values(),
                     key=lambda party: (party.kind != "Person", party.name))
    favourites = set((await service.favorites(database, person)).parties)
    settings = {setting.partyUuid: setting for setting in await addresses.notification_settings(database, person)}
    preferences = await service.settings_of(database, person)
    return render_page(request, "profile/page.html", {
        "language_setting": preferences.language or page_language(request),
        "parties": [{"party": party, "favourite": party.party_uuid in favourites,
                     "setting": settings.get(party.party_uuid)} for party in parties],
        "organisations": [party for party in parties if party.kind == "Organization" and not party.is_deleted],
        "verified": await addresses.verified_addresses(database, person),
        "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "done": done if done in DONE_MESSAGES else None, "problem": problem,
        "pending": pending or {
            "type": request.query_params.get("pending_type", ""),
            "value": request.query_params.get("pending_value", ""),
        },
    }, status_code=status_code)


@router.get(PAGE_PATH, response_class=HTMLResponse, name="profile_page", response_model=None)
async def profile_page(request: Request, runtime: RuntimeDep) -> Response:
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, PAGE_PATH)
    response = await _page(request, runtime, person, done=request.query_params.get("done"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(request: Request, done: str, **query: str) -> RedirectResponse:
    target = login.local_path(PAGE_PATH, done=done, **query)
    return RedirectResponse(request.scope.get("root_path", "") + target, status_code=303,
                            headers={"Cache-Control": "no-store"})


def _party(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.post(PAGE_PATH + "/{action}", response_class=HTMLResponse, name="profile_change", response_model=None)
async def change(request: Request, runtime: RuntimeDep, action: str, form_token: Annotated[str, Form()],
                 party: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "",
                 address_type: Annotated[str, Form()] = "", value: Annotated[str, Form()] = "",
                 code: Annotated[str, Form()] = "", email: Annotated[str, Form()] = "",
                 phone: Annotated[str, Form()] = "") -> Response:
    """One change from the page's forms: language, favourite, send-code, verify, save-address, delete-address."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, PAGE_PATH)
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return await _page(request, runtime, person, problem=_text(request, "profile.page.form_expired"),
                           status_code=400)
    database, pending = runtime.database, {"type": address_type, "value": value}
    try:
        if action == "language":
            chosen = schemas.ProfileSettingsPatch(language=language)
            await service.patch_settings(database, person, chosen)
            return _back(request, "language", lang=language)
        if action in ("favorite", "unfavorite"):
            party_uuid = _party(party)
            if party_uuid is None:
                return await _page(request, runtime, person, problem=_text(request, "profile.page.no_party"),
                                   status_code=400)
            if action == "favorite":
                await service.add_to_group(database, person, party_uuid)
                return _back(request, "favorite_added")
            await service.remove_favorite(database, person, party_uuid)
            return _back(request, "favorite_removed")
        if action == "send-code":
            request_code = schemas.AddressCodeSendRequest(value=value, type=address_type)
            sent = await addresses.send_verification_code(database, runtime.settings, person, request_code)
            if sent.status == "already_verified":
                return _back(request, "verified")
            if sent.status == "cooldown":
                return await _page(request, runtime, person, pending=pending, status_code=429, problem=_text(
                    request, "profile.page.cooldown", seconds=str(sent.retry_after)))
            return _back(request, "code_sent", pending_type=request_code.type.value, pending_value=request_code.value)
        if action == "verify":
            check = schemas.AddressVerificationRequest(value=value, type=address_type,
                                                       verificationCode=code.strip())
            if not await addresses.verify_address(database, runtime.settings, person, check):
                return await _page(request, runtime, person, pending=pending, status_code=422,
                                   problem=_text(request, "profile.page.wrong_code"))
            return _back(request, "verified")
        if action in ("save-address", "delete-address"):
            party_uuid = _party(party)
            if party_uuid is None:
                return await _page(request, runtime, person, problem=_text(request, "profile.page.no_party"),
                                   status_code=400)
            if action == "delete-address":
                await addresses.delete_notification_setting(database, person, party_uuid)
                return _back(request, "address_deleted")
            setting = schemas.NotificationSettingsRequest(emailAddress=email or None, phoneNumber=phone or None)
            await addresses.save_notification_setting(database, person, party_uuid, setting, replace=True)
            return _back(request, "address_saved")
    except ValidationError as error:
        return await _page(request, runtime, person, pending=pending, problem=_validation_message(error),
                           status_code=400)
    except Problem as refusal:
        return await _page(request, runtime, person, pending=pending, status_code=refusal.status,
                           problem=_problem_text(request, refusal))
    return await _page(request, runtime, person, problem=_text(request, "profile.page.unknown_action"),
                       status_code=404)


def _text(request: Request, key: str, **params: Any) -> str:
    return translate(key, page_language(request), **params)


def _problem_text(request: Request, refusal: Problem) -> str:
    """The page's words for a refusal the service gave, or its own text where the page has none."""
    key = f"profile.problem.{refusal.code}"
    text = _text(request, key)
    return refusal.detail if text == key else text
