"""The app's description of itself at app-lib's paths: metadata, layouts, texts, options, schemas.

These are public, as in app-lib (its controllers for them take no token): a stateless or anonymous app's form is
drawn from them before anyone logs in, and they hold nothing about anyone. A stateless form's bootstrap holds
prefilled data: it takes a token, and goes without one only where the app allows anonymous use. Each description
carries an ETag of its body, and a request that names it (If-None-Match) is answered 304 without one.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response, status

from felles.apps import access, bootstrap, data, metadata, parties
from felles.apps.dependencies import APP_TOKENS, AppDep, CallerDep, catalogue
from felles.core.errors import Unauthorized
from felles.core.params import IntegerId
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import AuthenticatedRoute, authenticate

router = APIRouter(prefix="/{org}/{app}", tags=["apps"])
# An instance's form takes the caller's token before anything else, as every instance call does.
instance_router = APIRouter(tags=["apps"], route_class=AuthenticatedRoute)

NOT_FOUND = {404: {"description": "No such app, or nothing of that id in it"}}


def _text(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a route that serves one of the app's files as it is, not JSON."""
    return {**NOT_FOUND, 200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


# app-lib lets caches keep the application metadata for a minute; the rest is revalidated by its ETag.
METADATA_CACHE = "public, max-age=60"
REVALIDATE = "no-cache"


def _answer(request: Request, body: bytes, media_type: str, cache_control: str = REVALIDATE) -> Response:
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _json(request: Request, document: Any, cache_control: str = REVALIDATE) -> Response:
    return _answer(request, orjson.dumps(document), "application/json", cache_control)


def _json_or_nothing(request: Request, document: Any) -> Response:
    """app-lib answers 204 where an app has no such file."""
    if document is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _json(request, document)


@router.get("/api/v1/applicationmetadata", operation_id="apps_application_metadata", responses=NOT_FOUND)
async def get_application_metadata(
    request: Request, app: AppDep,
    check_org_app: Annotated[bool, Query(alias="checkOrgApp", description="Kept for app-lib's clients")] = True,
) -> Response:
    """The app's applicationmetadata.json, with app-lib's defaults filled in."""
    return _json(request, metadata.application_metadata(app), METADATA_CACHE)


@router.get("/api/v1/applicationlanguages", operation_id="apps_application_languages", responses=NOT_FOUND)
async def get_application_languages(request: Request, app: AppDep) -> Response:
    """The languages the app has texts in."""
    return _json(request, metadata.application_languages(app.definition))


@router.get("/api/v1/applicationsettings", operation_id="apps_application_settings", responses=NOT_FOUND)
async def get_application_settings(request: Request, app: AppDep) -> Response:
    """The app's front-end settings (appsettings.json's FrontEndSettings)."""
    return _json(request, metadata.application_settings(app.definition))


@router.get("/api/v1/meta/authorizationpolicy", operation_id="apps_authorization_policy",
            responses=_text("text/xml", "The policy"))
async def get_authorization_policy(request: Request, app: AppDep) -> Response:
    """The app's XACML policy (policy.xml)."""
    return _answer(request, metadata.policy(app.definition), "text/xml; charset=utf-8")


@router.get("/api/v1/meta/process", operation_id="apps_process_definition",
            responses=_text("text/xml", "The process"))
async def get_process_definition(request: Request, app: AppDep) -> Response:
    """The app's BPMN process (process.bpmn)."""
    return _answer(request, metadata.process(app.definition), "text/xml; charset=utf-8")


@router.get("/api/v1/texts/{language}", operation_id="apps_texts",
            responses={**NOT_FOUND, 400: {"description": "Not a two-letter language code"}})
async def get_texts(request: Request, app: AppDep, language: str) -> Response:
    """The app's texts in a language (Norwegian bokmål when it has none in that one)."""
    return _json(request, metadata.texts(app, language))


@router.get("/api/v1/textresources", operation_id="apps_text_resources", responses=NOT_FOUND)
async def get_text_resources(request: Request, app: AppDep) -> Response:
    """The app's texts in Norwegian bokmål, where older versions of Altinn's frontend ask for them."""
    return _json(request, metadata.texts(app, metadata.DEFAULT_LANGUAGE))


@router.get("/api/v1/footer", operation_id="apps_footer",
            responses={**NOT_FOUND, 204: {"description": "The app has no footer"}})
async def get_footer(request: Request, app: AppDep) -> Response:
    """The app's footer (ui/footer.json)."""
    return _json_or_nothing(request, metadata.footer(app.definition))


@router.get("/api/layoutsets", operation_id="apps_layout_sets", responses=NOT_FOUND)
async def get_layout_sets(request: Request, app: AppDep) -> Response:
    """The app's layout sets: each with its data type and the tasks it is shown in."""
    return _json(request, metadata.layout_sets(app.definition))


@router.get("/api/layouts/{layout_set_id}", operation_id="apps_layouts", responses=NOT_FOUND)
async def get_layouts(request: Request, app: AppDep, layout_set_id: str) -> Response:
    """A layout set's pages by name, in their order."""
    return _json(request, metadata.layouts(app.definition, layout_set_id))


@router.get("/api/layoutsettings/{layout_set_id}", operation_id="apps_layout_settings", responses=NOT_FOUND)
async def get_layout_settings(request: Request, app: AppDep, layout_set_id: str) -> Response:
    """A layout set's Settings.json (page order and the like)."""
    return _json(request, metadata.layout_settings(app.definition, layout_set_id))


@router.get("/api/rulehandler/{layout_set_id}", operation_id="apps_rule_handler",
            responses={**_text("text/javascript", "The rule handler"),
                       204: {"description": "The layout set has no rule handler"}})
async def get_rule_handler(request: Request, app: AppDep, layout_set_id: str) -> Response:
    """An older app's RuleHandler.js for a layout set."""
    found = metadata.rule_handler(app.definition, layout_set_id)
    if found is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _answer(request, found, "text/javascript; charset=utf-8")


@router.get("/api/ruleconfiguration/{layout_set_id}", operation_id="apps_rule_configuration",
            responses={**NOT_FOUND, 204: {"description": "The layout set has no rule configuration"}})
async def get_rule_configuration(request: Request, app: AppDep, layout_set_id: str) -> Response:
    """An older app's RuleConfiguration.json for a layout set."""
    return _json_or_nothing(request, metadata.rule_configuration(app.definition, layout_set_id))


@router.get("/api/options/{options_id}", operation_id="apps_options", responses=NOT_FOUND)
async def get_options(
    request: Request, app: AppDep, options_id: str,
    language: Annotated[str | None, Query(description="The user's language (ISO 639-1)")] = None,
) -> Response:
    """A static option list; the header Altinn-DownstreamParameters names the parameters it was made with.
    Other query parameters are the option provider's; a static list takes none."""
    found = metadata.options(app.definition, options_id)
    response = _json(request, found.options)
    response.headers["Altinn-DownstreamParameters"] = found.downstream_parameters
    return response


@router.get("/api/datalists/{data_list_id}", operation_id="apps_data_list", responses=NOT_FOUND)
async def get_data_list(app: AppDep, data_list_id: str) -> Response:
    """A data list (none exists: app-lib's come from an app's own code, which Felles does not run)."""
    raise metadata.no_data_list(app, data_list_id)


@router.get("/api/jsonschema/{model}", operation_id="apps_json_schema", responses=NOT_FOUND)
async def get_json_schema(request: Request, app: AppDep, model: str) -> Response:
    """A data model's JSON schema."""
    return _json(request, metadata.json_schema(app.definition, model))


@router.get("/api/xsdschema/{model}", operation_id="apps_xsd_schema",
            responses=_text("application/xml", "The XML schema"))
async def get_xsd_schema(request: Request, app: AppDep, model: str) -> Response:
    """A data model's XML schema."""
    return _answer(request, metadata.xsd_schema(app.definition, model), "application/xml; charset=utf-8")


@router.get("/api/validationconfig/{data_type}", operation_id="apps_validation_config",
            responses={**NOT_FOUND, 204: {"description": "The data type has no expression validations"}})
async def get_validation_config(request: Request, app: AppDep, data_type: str) -> Response:
    """A data type's expression validations (models/{dataType}.validation.json)."""
    return _json_or_nothing(request, metadata.validation_config(app.definition, data_type))


async def _caller_if_any(request: Request, database: DatabaseDep) -> access.Caller | None:
    """The caller when the request carries a token (checked as every app call checks it), None when it has none:
    a stateless app may be used without logging in."""
    try:
        principal = await authenticate(request, None)
    except Unauthorized as problem:
        if problem.code == "missing_token":
            return None
        raise
    APP_TOKENS.check(principal, request.app.state.runtime.settings.base_url)
    return await access.caller_of(database, principal)


@router.get("/api/bootstrap-form/{ui_folder}", operation_id="apps_stateless_form",
            responses={**NOT_FOUND, 400: {"description": "A prefill that is not a JSON object of strings"},
                       401: {"description": "The app needs a logged-in user"},
                       403: {"description": "The app's policy does not let the caller read"}})
async def get_stateless_form(
    request: Request, runtime: RuntimeDep, app: AppDep, ui_folder: str,
    prefill: Annotated[str | None, Query(description='{"field": "value"}, or by data type')] = None,
    language: Annotated[str | None, Query(description="The user's language")] = None,
) -> Response:
    """A stateless form as app-lib's bootstrap-form gives it: its pages, static options, and for each data type
    its schema, expression validations and starting data (prefilled for the party the caller acts for, and
    from `prefill`). Without a token only when the app allows anonymous use of every data type."""
    caller = await _caller_if_any(request, runtime.database)
    form = await bootstrap.stateless_form(runtime, caller, app, ui_folder, prefill=prefill,
                                          party_cookie=request.cookies.get(parties.PARTY_COOKIE))
    return Response(orjson.dumps(form), media_type="application/json", headers={"Cache-Control": "no-store"})


@instance_router.get("/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}/bootstrap-form/{ui_folder}",
                     operation_id="apps_instance_form",
                     responses={**NOT_FOUND, 401: {"description": "No valid token"},
                                403: {"description": "The app's policy does not let the caller read"},
                                409: {"description": "Several data elements of a data type, none named"}})
async def get_instance_form(
    request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
    instanceGuid: uuid.UUID, ui_folder: str,
    data_element_id: Annotated[uuid.UUID | None, Query(alias="dataElementId",
                                                       description="The default data type's element")] = None,
    pdf: Annotated[bool, Query(description="For the PDF: no validation")] = False,
    language: Annotated[str | None, Query(max_length=10, description="The user's language")] = None,
) -> Response:
    """An instance's form in a UI folder as app-lib's bootstrap-form gives it: pages, static options, and for
    each data type its schema, expression validations, data element and form data, with the validation issues
    the form opens with."""
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, instanceOwnerPartyId, instanceGuid)
    form = await bootstrap.instance_form(ref, ui_folder, data_element_id=data_element_id, pdf=pdf,
                                         language=language)
    return Response(orjson.dumps(form), media_type="application/json", headers={"Cache-Control": "no-store"})


@instance_router.get("/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}/options/{options_id}",
                     operation_id="apps_instance_options",
                     responses={**NOT_FOUND, 401: {"description": "No valid token"},
                                403: {"description": "The app's policy does not let the caller read"}})
async def get_instance_options(
    request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
    instanceGuid: uuid.UUID, options_id: str,
    language: Annotated[str | None, Query(max_length=10, description="The user's language")] = None,
) -> Response:
    """A static option list within an instance; Altinn-DownstreamParameters as for the app's."""
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, instanceOwnerPartyId, instanceGuid)
    found = await bootstrap.instance_options(ref, options_id)
    response = _json(request, found.options)
    response.headers["Altinn-DownstreamParameters"] = found.downstream_parameters
    return response
