"""An instance's data elements over the app API: form data and attachments, as app-lib handles them.

Form data (a data type with `appLogic`) is read as JSON or XML and stored as the model says: XML when the app has
the model's XSD (as Altinn stores it), JSON otherwise; it is always served as JSON with every property of the
model present (null when empty). Attachments (the other data types) stream to the blob store in constant memory
within the data type's rules: allowed content types (the file name's extension must agree with the declared
type), `maxSize` (MB), `maxCount`, a file name from `Content-Disposition`. A refused upload keeps nothing.

Every call is decided by the app's policy (`read` or `write` in the current task, for the instance's party), and
the checks Altinn's DataElementAccessChecker makes come after: the data type's task, an active instance, a data
element not locked, `disallowUserCreate`/`disallowUserDelete` for persons, and `ref-data-as-pdf` kept from anyone.

A stateless app's form data (`/v1/data`) is prefilled and handed back, never stored.

Files of data types with `enableFileScan` are `Pending` until the scan job (`apps.scan`) marks them `Clean` or
`Infected`. An infected file is never delivered, to anyone (403 `file_infected`): it can only be deleted.
"""

from __future__ import annotations

import json
import mimetypes
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps import access, instances, scan
from felles.apps.definition import AppDefinition, DataModelDefinition
from felles.apps.deployment import AppCatalogue
from felles.apps.formdata import ROW_ID, FormDataError, json_to_xml, xml_to_json
from felles.apps.jsonpatch import PatchFailed, PatchTestFailed, apply_patch
from felles.apps.prefill import apply_prefill
from felles.authorization import service as authorization
from felles.core.blobs import BlobStream, StoredBlob, from_bytes
from felles.core.config import VirusScannerKind
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from felles.core.runtime import Runtime
from felles.storage import schemas as storage_schemas
from felles.storage import service as storage
from felles.storage.models import DataElement, Instance

log = structlog.get_logger("felles.apps.data")
# Altinn's data type of the PDF receipt: made by the app, never by a client.
PDF_DATA_TYPE = "ref-data-as-pdf"
# A data type without `maxSize` still has a limit (Altinn's app backend has its request size limit).
MAX_ATTACHMENT_BYTES = 512 * 1024 * 1024
# Form data is read whole (it is parsed): a model's data is small.
MAX_FORM_DATA_BYTES = 10 * 1024 * 1024
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json", "text/json")
# Where a data element's bytes are posted: the body limit of these paths is the attachments' (core.body_limit).
DATA_PATH_PATTERN = "/*/*/instances/*/*/data"


class UploadRefused(Problem):
    """A file refused by the data type's rules: Altinn's DataPostErrorResponse (400, `uploadValidationIssues` with
    Altinn's code, e.g. MissingFileName; the problem's `code` is the same in snake case, missing_file_name)."""

    status = 400
    title = "File validation failed"

    def __init__(self, code: str, description: str) -> None:
        issue: dict[str, Any] = {"severity": 1, "dataElementId": None, "field": None, "code": code,
                 "description": f"Invalid data provided. Error: {description}", "source": "DataRestrictionValidation",
                 "customTextKey": None}
        super().__init__(str(issue["description"]), code=re.sub(r"(?<!^)(?=[A-Z])", "_", code).lower(),
                         extra={"uploadValidationIssues": [issue]})


class PatchConflict(Conflict):
    code = "patch_test_failed"
    title = "Precondition in patch failed"


class PatchUnprocessable(Problem):
    status = 422
    code = "patch_failed"
    title = "Patch operation failed"


@dataclass(frozen=True)
class InstanceRef:
    """Which instance of which app, asked by whom: the path of every data call and its caller."""

    runtime: Runtime
    catalogue: AppCatalogue
    app_id: str
    caller: access.Caller
    party_id: int
    instance_id: uuid.UUID

    @property
    def actor(self) -> str:
        """Who changed a data element, as Altinn writes it: the user id of a person, else the org number."""
        caller = self.caller
        return str(caller.user_id) if caller.is_person and caller.user_id is not None else caller.subject

    def platform_user(self) -> storage_schemas.PlatformUser:
        caller = self.caller
        if caller.is_person:
            return storage_schemas.PlatformUser(userId=caller.user_id, nationalIdentityNumber=caller.subject,
                                                authenticationLevel=caller.authentication_level)
        return storage_schemas.PlatformUser(orgId=caller.service_owner or caller.subject,
                                            authenticationLevel=caller.authentication_level)


# --- what an app says about its data types -----------------------------------------------------------------
def data_type_of(definition: AppDefinition, data_type_id: str) -> dict[str, Any]:
    """The data type from the app's metadata; an unknown one is bad input (400)."""
    for data_type in definition.metadata.get("dataTypes") or []:
        if data_type.get("id") == data_type_id:
            return dict(data_type)
    known = ", ".join(str(item.get("id")) for item in definition.metadata.get("dataTypes") or [])
    raise InvalidInput(f'The app has no data type "{data_type_id}" (it has: {known}).', code="unknown_data_type")


def is_form_data(data_type: dict[str, Any]) -> bool:
    return bool((data_type.get("appLogic") or {}).get("classRef"))


def model_of(definition: AppDefinition, data_type: dict[str, Any]) -> DataModelDefinition:
    """The model of a form data type: the model file named as the data type, or as its C# class."""
    class_name = str((data_type.get("appLogic") or {}).get("classRef") or "").rsplit(".", 1)[-1]
    model = definition.models.get(data_type["id"]) or definition.models.get(class_name)
    if model is None or (model.xsd is None and model.json_schema is None):
        raise Conflict(f'The app has no model for the data type "{data_type["id"]}".', code="model_missing")
    return model


def media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


# --- form data: parsed, stored and served ------------------------------------------------------------------
def decode_form_data(body: bytes, content_type: str | None, model: DataModelDefinition) -> dict[str, Any]:
    """Form data as sent (JSON, or XML per the model's XSD) in its JSON form; malformed or unfitting → 400."""
    kind = media_type(content_type)
    try:
        if kind in XML_TYPES or (kind == "" and body.lstrip().startswith(b"<")):
            if model.xsd is None:
                raise FormDataError("this model takes JSON only (the app has no XSD for it)")
            data = xml_to_json(body, model.xsd)
        elif kind in JSON_TYPES or kind == "":
            try:
                data = json.loads(body or b"{}")
            except (ValueError, UnicodeDecodeError) as error:
                raise FormDataError(f"invalid JSON: {error}") from None
            if not isinstance(data, dict):
                raise FormDataError("form data must be a JSON object")
        else:
            raise InvalidInput(f"Form data is sent as JSON or XML, not {kind}.", code="unsupported_content_type")
        return canonical_form_data(data, model)
    except FormDataError as error:
        raise InvalidInput(f"The form data does not fit the model: {error}", code="invalid_form_data") from None


def encode_form_data(data: dict[str, Any], model: DataModelDefinition) -> tuple[bytes, str]:
    """The bytes stored for form data and their content type (XML when the app has the XSD)."""
    if model.xsd is not None:
        return json_to_xml(data, model.xsd, model.root_element), "application/xml"
    return json.dumps(data, ensure_ascii=False).encode(), "application/json"


def canonical_form_data(data: dict[str, Any], model: DataModelDefinition) -> dict[str, Any]:
    """Form data as it reads back once stored: through the XSD, so types and empty properties are the model's."""
    if model.xsd is None:
        return data
    return xml_to_json(json_to_xml(data, model.xsd, model.root_element), model.xsd)


def with_row_ids(value: Any) -> Any:
    """Every repeating-group row with its `altinnRowId` (a new row gets one), as app-lib saves form data, so that
    app-frontend-react can tell rows apart across saves."""
    if isinstance(value, dict):
        return {key: with_row_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [{ROW_ID: str(uuid.uuid4()), **with_row_ids(item)} if isinstance(item, dict) and not item.get(ROW_ID)
                else with_row_ids(item) for item in value]
    return value


def without_row_ids(value: Any) -> Any:
    """Form data as served unless row ids are asked for (app-lib's `includeRowId=false`)."""
    if isinstance(value, dict):
        return {key: without_row_ids(item) for key, item in value.items() if key != ROW_ID}
    if isinstance(value, list):
        return [without_row_ids(item) for item in value]
    return value


async def read_form_data(runtime: Runtime, element: DataElement, model: DataModelDefinition) -> dict[str, Any]:
    body = await storage.read_data_bytes(runtime.blobs, element)
    if media_type(element.content_type) in XML_TYPES and model.xsd is not None:
        return xml_to_json(body, model.xsd)
    loaded = json.loads(body or b"{}")
    return loaded if isinstance(loaded, dict) else {}


async def prefilled(runtime: Runtime, caller: access.Caller, party: authorization.PartyRef,
                    model: DataModelDefinition, form_data: dict[str, Any]) -> dict[str, Any]:
    """The form data with the model's prefill (`<model>.prefill.json`) from the registers, for this party."""
    if not model.prefill:
        return form_data
    sources = await instances.prefill_sources(runtime, caller, party, model.prefill)
    try:
        return canonical_form_data(apply_prefill(form_data, model.prefill, sources), model)
    except FormDataError as error:
        # Older apps name prefill targets by their C# properties, which the model's XSD does not know.
        log.warning("prefill_does_not_fit_the_model", data_type=model.data_type, error=str(error))
        return form_data


# --- attachments -------------------------------------------------------------------------------------------
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;\s]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s"]+))\s*(?:;|$)', re.IGNORECASE)


def filename_from(content_disposition: str | None) -> str | None:
    """The file name a `Content-Disposition` header gives (`filename*` first), without any folder; None when
    it gives none or an unquoted name with spaces (as ASP.NET, which Altinn runs on, refuses it)."""
    if not content_disposition:
        return None
    star = _FILENAME_STAR.search(content_disposition)
    if star:
        name = unquote(star.group(2), encoding=star.group(1) or "utf-8", errors="replace")
    else:
        plain = _FILENAME.search(content_disposition)
        if plain is None:
            return None
        name = plain.group(1).replace('\\"', '"') if plain.group(1) is not None else plain.group(2)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip('"')
    return name or None


def check_upload(data_type: dict[str, Any], content_type: str | None, content_disposition: str | None,
                 content_length: int | None) -> str:
    """Altinn's checks of an attachment before its bytes are read (DataRestrictionValidation); its file name."""
    if content_disposition is None:
        raise UploadRefused("ContentTypeNotAllowed", "The request must include a Content-Disposition header")
    max_bytes = attachment_limit(data_type)
    if content_length is not None and content_length > max_bytes:
        raise UploadRefused("DataElementTooLarge", f"Binary attachment exceeds limit of {max_bytes}")
    filename = filename_from(content_disposition)
    if filename is None:
        raise UploadRefused("MissingFileName", "The Content-Disposition header must contain a valid filename")
    if "." not in filename.strip("."):
        raise UploadRefused("InvalidFileNameFormat", f"Invalid format for filename: {filename}. Filename is "
                                                     "expected to end with '.{filetype}'.")
    allowed = [str(item).lower() for item in data_type.get("allowedContentTypes") or []]
    if not allowed:
        return filename
    declared = media_type(content_type)
    if not declared:
        raise UploadRefused("InvalidFileNameFormat", "Content-Type header must be included in request.")
    expected = (mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream").lower()
    if declared != "application/octet-stream" and declared != expected:
        raise UploadRefused("InvalidFileNameFormat", f"Content type header {declared} does not match mime type "
                                                     f"{expected} for uploaded file. Please fix header or upload "
                                                     "another file.")
    if declared not in allowed and "application/octet-stream" not in allowed:
        raise UploadRefused("ContentTypeNotAllowed", f"Invalid content type: {expected}. Please try another file. "
                                                     f"Permitted content types include: {', '.join(allowed)}")
    return filename


def attachment_limit(data_type: dict[str, Any]) -> int:
    max_size = data_type.get("maxSize")
    if isinstance(max_size, int) and max_size > 0:
        return min(max_size * 1024 * 1024, MAX_ATTACHMENT_BYTES)
    return MAX_ATTACHMENT_BYTES


async def _file_body(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """A request body as it arrives (the blob store gathers the server's small chunks into blocks for its threads
    itself, without copying them), refused when empty."""
    empty = True
    async for chunk in chunks:
        if chunk:
            empty = False
            yield chunk
    if empty:
        raise UploadRefused("DataElementEmpty", "The file is zero bytes.")


async def _read_limited(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise storage.TooLarge(f"Form data is limited to {limit} bytes.")
        parts.append(chunk)
    return b"".join(parts)


# --- the instance, and who may do what with it --------------------------------------------------------------
@dataclass
class Opened:
    """An instance read for a data call, with the app definition of the version it runs on."""

    instance: Instance
    definition: AppDefinition
    elements: list[DataElement]

    def element(self, element_id: uuid.UUID) -> DataElement:
        for element in self.elements:
            if element.id == element_id:
                return element
        raise NotFound("No such data element.", code="data_element_not_found")


async def _load(ref: InstanceRef, session: AsyncSession, *, lock: bool = False) -> Opened:
    instance, elements = await storage.instance_with_elements(session, ref.instance_id, party_id=ref.party_id,
                                                              lock=lock)
    if instance.app_id != ref.app_id:
        raise NotFound("No such instance.", code="instance_not_found")
    definition, _ = await ref.catalogue.get(instance.app_id, instance.app_version)
    return Opened(instance, definition, elements)


async def open_instance(ref: InstanceRef, action: str) -> Opened:
    """The instance, once the app's policy lets the caller `action` (read/write) it in its current task (read in
    one statement outside a transaction: a write reads it again, locked)."""
    async with ref.runtime.database.read() as session:
        opened = await _load(ref, session)
    instance = opened.instance
    end_event = (instance.process or {}).get("endEvent") if instance.current_task is None else None
    await access.require(ref.runtime.database, ref.caller, instance.owner_identifier, ref.app_id, action,
                         task=instance.current_task, end_event=end_event)
    return opened


async def require_data_type_action(ref: InstanceRef, opened: Opened, data_type: dict[str, Any], kind: str) -> None:
    """A data type may ask for an action of its own to be read or written (`actionRequiredToRead`/`…ToWrite`,
    e.g. `sign`): the app's policy must permit it too."""
    action = data_type.get(f"actionRequiredTo{kind.capitalize()}")
    if isinstance(action, str) and action.strip():
        await access.require(ref.runtime.database, ref.caller, opened.instance.owner_identifier, ref.app_id,
                             action.strip(), task=opened.instance.current_task)


async def check_mutation(ref: InstanceRef, opened: Opened, data_type: dict[str, Any]) -> None:
    """What Altinn checks before any change of a data type's elements (create, update, delete)."""
    instance, caller = opened.instance, ref.caller
    if data_type["id"] == PDF_DATA_TYPE:
        raise Forbidden(f"Data elements of type {PDF_DATA_TYPE} are made by the app, not changed by callers.",
                        code="data_type_read_only")
    await require_data_type_action(ref, opened, data_type, "write")
    check_changeable(instance, data_type)
    if not _valid_contributor(data_type, caller):
        raise Forbidden("You are not a permitted contributor to this data type.", code="not_a_contributor")


def check_changeable(instance: Instance, data_type: dict[str, Any]) -> None:
    """The instance is active and in the data type's task: checked again under the instance's lock, since the
    process may have moved on while the bytes were being stored."""
    if instance.archived_at is not None or instance.soft_deleted_at is not None or instance.process_ended_at:
        raise Conflict("The instance is no longer active: its data cannot change.", code="instance_not_active")
    if instance.current_task is None:
        raise Conflict("The instance has no current task.", code="no_current_task")
    task = data_type.get("taskId")
    if task and task != instance.current_task:
        raise Conflict(f'Data elements of type {data_type["id"]} can only be changed in {task} '
                       f"(the current task is {instance.current_task}).", code="wrong_task")


def _valid_contributor(data_type: dict[str, Any], caller: access.Caller) -> bool:
    # Altinn's allowedContributors ("org:ttd", "orgno:991825827"); the older misspelling is still read.
    allowed = data_type.get("allowedContributors") or data_type.get("allowedContributers")
    if not allowed:
        return True
    return any((entry == f"org:{caller.service_owner}" and caller.service_owner) or
               (entry == f"orgno:{caller.subject}" and not caller.is_person) for entry in allowed)


def _check_unlocked(element: DataElement) -> None:
    if element.locked:
        raise Conflict("The data element is locked: its task is done.", code="data_element_locked")


def _check_deliverable(element: DataElement) -> None:
    if element.file_scan_result == "Infected":
        raise Forbidden("The file is infected by a virus: it is not delivered, only deleted.", code="file_infected")


def public_instance(ref: InstanceRef, opened: Opened) -> dict[str, Any]:
    owner = storage.owner_of(opened.instance)
    return storage.public_instance(opened.instance, opened.elements, owner, ref.runtime.settings.base_url) \
        .model_dump(mode="json", exclude_none=True)


def public_element(ref: InstanceRef, opened: Opened, element: DataElement) -> dict[str, Any]:
    return storage.public_data_element(element, opened.instance, ref.runtime.settings.base_url) \
        .model_dump(mode="json", exclude_none=True)


# --- the use cases -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Created:
    opened: Opened
    element: DataElement
    form_data: dict[str, Any] | None


async def create_data_element(ref: InstanceRef, data_type_id: str, *, content_type: str | None,
                              content_disposition: str | None, content_length: int | None,
                              body: AsyncIterable[bytes]) -> Created:
    """A new data element of `data_type_id`: form data (its model's, prefilled from the body) or a file."""
    opened = await open_instance(ref, "write")
    data_type = data_type_of(opened.definition, data_type_id)
    await check_mutation(ref, opened, data_type)
    existing = sum(1 for element in opened.elements if element.data_type == data_type_id)
    max_count = data_type.get("maxCount") or 0
    if max_count > 0 and existing >= max_count:
        raise Conflict(f"Cannot create more than {max_count} data elements of type {data_type_id}.",
                       code="max_count_exceeded")
    if (data_type.get("appLogic") or {}).get("disallowUserCreate") and ref.caller.service_owner is None:
        raise InvalidInput(f"Data elements of type {data_type_id} are created by the app only.",
                           code="user_create_disallowed")
    element_id = uuid.uuid4()
    form_data = None
    scan_file = False
    if is_form_data(data_type):
        model = model_of(opened.definition, data_type)
        raw = await _read_limited(body, MAX_FORM_DATA_BYTES)
        form_data = decode_form_data(raw, content_type, model) if raw.strip() else canonical_form_data({}, model)
        owner = await authorization.party_by_id(ref.runtime.database, opened.instance.party_id)
        if owner is not None:  # as app-lib, a new form is prefilled as at instantiation
            form_data = await prefilled(ref.runtime, ref.caller, owner, model, form_data)
        form_data = with_row_ids(form_data)
        stored_bytes, stored_type = encode_form_data(form_data, model)
        filename = None
        stored = await storage.put_data_blob(ref.runtime.blobs, opened.instance.id, element_id,
                                             from_bytes(stored_bytes))
    else:
        filename = check_upload(data_type, content_type, content_disposition, content_length)
        stored_type = media_type(content_type) or "application/octet-stream"
        stored = await storage.put_data_blob(ref.runtime.blobs, opened.instance.id, element_id, _file_body(body),
                                             max_bytes=attachment_limit(data_type))
        scan_file = bool(data_type.get("enableFileScan")) and \
            ref.runtime.settings.virus_scanner is not VirusScannerKind.NONE
    try:
        async with ref.runtime.database.transaction() as session:
            locked = await _load(ref, session, lock=True)
            check_changeable(locked.instance, data_type)
            count = sum(1 for element in locked.elements if element.data_type == data_type_id)
            if max_count > 0 and count >= max_count:  # another upload won the race
                raise Conflict(f"Cannot create more than {max_count} data elements of type {data_type_id}.",
                               code="max_count_exceeded")
            element = storage.add_data_element_in_transaction(
                session, locked.instance, element_id, stored, data_type=data_type_id, content_type=stored_type,
                actor=ref.actor, filename=filename, file_scan_result="Pending" if scan_file else "NotApplicable",
                is_read=ref.caller.service_owner != locked.instance.org)
            await storage.record_event_in_transaction(session, locked.instance, "Created", ref.platform_user(),
                                                      data_id=element_id)
            if scan_file:
                await scan.enqueue_scan(session, element)
            locked.elements.append(element)
    except BaseException:
        await ref.runtime.blobs.delete(stored.key)
        raise
    return Created(locked, element, form_data)


async def read_data_element(ref: InstanceRef, element_id: uuid.UUID) -> tuple[DataElement, dict[str, Any] | None]:
    """A data element to deliver: its row, and its form data (JSON) when it is form data."""
    opened = await open_instance(ref, "read")
    element = opened.element(element_id)
    data_type = data_type_of(opened.definition, element.data_type)
    await require_data_type_action(ref, opened, data_type, "read")
    _check_deliverable(element)
    instance = opened.instance
    if ref.caller.service_owner != instance.org and (not element.is_read or instance.read_status != storage.READ):
        # The instance owner's side has seen it now (the app's service owner reading it is not them).
        await storage.mark_read(ref.runtime.database, instance.id, element.id)
    if is_form_data(data_type):
        return element, await read_form_data(ref.runtime, element, model_of(opened.definition, data_type))
    return element, None


async def open_file(ref: InstanceRef, element: DataElement) -> BlobStream:
    return await storage.read_data_blob(ref.runtime.blobs, element)


async def replace_data_element(ref: InstanceRef, element_id: uuid.UUID, *, content_type: str | None,
                               content_disposition: str | None, content_length: int | None,
                               body: AsyncIterable[bytes]) -> tuple[Opened, DataElement, dict[str, Any] | None]:
    """PUT: new form data or new file bytes for an existing element."""
    opened = await open_instance(ref, "write")
    element = opened.element(element_id)
    data_type = data_type_of(opened.definition, element.data_type)
    await check_mutation(ref, opened, data_type)
    _check_unlocked(element)
    form_data = None
    filename = element.filename
    if is_form_data(data_type):
        model = model_of(opened.definition, data_type)
        form_data = with_row_ids(decode_form_data(await _read_limited(body, MAX_FORM_DATA_BYTES), content_type,
                                                  model))
        stored_bytes, stored_type = encode_form_data(form_data, model)
        stored = await storage.put_data_blob(ref.runtime.blobs, opened.instance.id, element_id,
                                             from_bytes(stored_bytes))
    else:
        filename = check_upload(data_type, content_type, content_disposition, content_length)
        stored_type = media_type(content_type) or "application/octet-stream"
        stored = await storage.put_data_blob(ref.runtime.blobs, opened.instance.id, element_id, _file_body(body),
                                             max_bytes=attachment_limit(data_type))
    scan_file = not is_form_data(data_type) and bool(data_type.get("enableFileScan")) and \
        ref.runtime.settings.virus_scanner is not VirusScannerKind.NONE
    opened, element = await _commit_replacements(ref, [Replacement(element_id, stored, stored_type, filename,
                                                                   scan_file)])
    return opened, element, form_data


class Replacement(NamedTuple):
    """New bytes stored for a data element, to point it at."""

    element_id: uuid.UUID
    stored: StoredBlob
    content_type: str
    filename: str | None
    scan: bool


async def _commit_replacements(ref: InstanceRef, replacements: list[Replacement]) -> tuple[Opened, DataElement]:
    """Point elements at their newly stored bytes in one transaction (the old bytes deleted after it)."""
    old_keys = []
    try:
        async with ref.runtime.database.transaction() as session:
            locked = await _load(ref, session, lock=True)
            for element_id, stored, content_type, filename, scan_file in replacements:
                element = locked.element(element_id)
                check_changeable(locked.instance, data_type_of(locked.definition, element.data_type))
                _check_unlocked(element)
                old_keys.append(storage.replace_data_element_in_transaction(
                    locked.instance, element, stored, content_type=content_type, actor=ref.actor, filename=filename,
                    file_scan_result="Pending" if scan_file else None))
                if ref.caller.service_owner == locked.instance.org:
                    storage.unseen_change_in_transaction(locked.instance, element, locked.elements)
                if scan_file:
                    await scan.enqueue_scan(session, element)
                await storage.record_event_in_transaction(session, locked.instance, "Saved", ref.platform_user(),
                                                          data_id=element_id)
    except BaseException:
        for replacement in replacements:
            await ref.runtime.blobs.delete(replacement.stored.key)
        raise
    for key in old_keys:
        await ref.runtime.blobs.delete(key)
    return locked, locked.element(replacements[0].element_id)


async def save_form_data(ref: InstanceRef, element_id: uuid.UUID, form_data: dict[str, Any]) -> dict[str, Any]:
    """Replace an element's form data with `form_data` (the form pages' autosave); the data as stored."""
    _, _, saved = await replace_data_element(
        ref, element_id, content_type="application/json", content_disposition=None, content_length=None,
        body=from_bytes(json.dumps(form_data, ensure_ascii=False).encode()))
    assert saved is not None, "form data elements only"
    return saved


@dataclass(frozen=True)
class Patched:
    opened: Opened
    form_data: dict[uuid.UUID, dict[str, Any]]


async def patch_form_data(ref: InstanceRef, patches: list[tuple[uuid.UUID, Any]]) -> Patched:
    """Apply JSON Patches to form data elements, all or none: a failing `test` is 409, any other failure 422."""
    opened = await open_instance(ref, "write")
    if not patches:
        raise InvalidInput("The request has no patches.", code="no_patches")
    changed: dict[uuid.UUID, dict[str, Any]] = {}
    stored_list: list[Replacement] = []
    try:
        for element_id, patch in patches:
            if element_id in changed:
                raise InvalidInput(f"Data element {element_id} is patched twice.", code="duplicate_patch")
            try:
                element = opened.element(element_id)
            except NotFound:
                raise NotFound(f"Data element {element_id} not found in the instance.",
                               code="data_element_not_found") from None
            data_type = data_type_of(opened.definition, element.data_type)
            await check_mutation(ref, opened, data_type)
            _check_unlocked(element)
            if not is_form_data(data_type):
                raise InvalidInput(f"Data element {element_id} is a file, not form data: it cannot be patched.",
                                   code="not_form_data")
            model = model_of(opened.definition, data_type)
            current = await read_form_data(ref.runtime, element, model)
            try:
                patched = apply_patch(current, patch)
            except PatchTestFailed as failure:
                raise PatchConflict(str(failure)) from None
            except PatchFailed as failure:
                raise PatchUnprocessable(str(failure)) from None
            if not isinstance(patched, dict):
                raise PatchUnprocessable("The patched form data is not an object.")
            try:
                form_data = with_row_ids(canonical_form_data(patched, model))
                stored_bytes, stored_type = encode_form_data(form_data, model)
            except FormDataError as error:
                raise PatchUnprocessable(f"The patched form data does not fit the model: {error}",
                                         code="patch_result_invalid") from None
            changed[element_id] = form_data
            stored = await storage.put_data_blob(ref.runtime.blobs, opened.instance.id, element_id,
                                                 from_bytes(stored_bytes))
            stored_list.append(Replacement(element_id, stored, stored_type, None, False))
    except BaseException:
        for replacement in stored_list:
            await ref.runtime.blobs.delete(replacement.stored.key)
        raise
    locked, _ = await _commit_replacements(ref, stored_list)
    return Patched(locked, changed)


async def delete_data_element(ref: InstanceRef, element_id: uuid.UUID) -> Opened:
    """Remove a data element and, after the commit, its bytes."""
    opened = await open_instance(ref, "write")
    element = opened.element(element_id)
    data_type = data_type_of(opened.definition, element.data_type)
    await check_mutation(ref, opened, data_type)
    _check_unlocked(element)
    app_logic = data_type.get("appLogic") or {}
    if app_logic.get("classRef") and data_type.get("maxCount") == 1 and data_type.get("minCount") == 1:
        raise InvalidInput("The only data element of a form's model cannot be deleted.", code="main_data_element")
    if app_logic.get("disallowUserDelete") and ref.caller.service_owner is None:
        raise InvalidInput(f"Data elements of type {data_type['id']} are deleted by the app only.",
                           code="user_delete_disallowed")
    async with ref.runtime.database.transaction() as session:
        locked = await _load(ref, session, lock=True)
        row = locked.element(element_id)
        check_changeable(locked.instance, data_type)
        _check_unlocked(row)
        key = await storage.remove_data_element_in_transaction(session, locked.instance, row, ref.actor)
        locked.elements.remove(row)
        await storage.record_event_in_transaction(session, locked.instance, "Deleted", ref.platform_user(),
                                                  data_id=element_id)
    await ref.runtime.blobs.delete(key)
    return locked


# --- tags (FileUploadWithTag) ----------------------------------------------------------------------------------
_TAG = re.compile(r"^[^\W\d]([^\W]|-)*$")


def check_tag(tag: str) -> str:
    """A tag is a word of letters (digits, `-` and `_` after the first), as app-lib takes them."""
    if not 0 < len(tag) <= 100 or not _TAG.match(tag):
        raise InvalidInput(f'"{tag}" is not a tag: a tag is a word of letters.', code="invalid_tag")
    return tag


async def data_element_tags(ref: InstanceRef, element_id: uuid.UUID) -> list[str]:
    opened = await open_instance(ref, "read")
    return list(opened.element(element_id).tags or [])


async def change_tags(ref: InstanceRef, element_id: uuid.UUID, *, add: str | None = None,
                      remove: str | None = None, replace: list[str] | None = None) -> tuple[Opened, list[str]]:
    """Add a tag, remove one, or set them all (duplicates dropped, order kept)."""
    opened = await open_instance(ref, "write")
    element = opened.element(element_id)
    await check_mutation(ref, opened, data_type_of(opened.definition, element.data_type))
    _check_unlocked(element)
    async with ref.runtime.database.transaction() as session:
        locked = await _load(ref, session, lock=True)
        row = locked.element(element_id)
        _check_unlocked(row)
        tags = list(row.tags or [])
        if replace is not None:
            tags = [check_tag(tag) for tag in replace]
        if add is not None and check_tag(add) not in tags:
            tags.append(add)
        if remove is not None:
            tags = [tag for tag in tags if tag != remove]
        tags = list(dict.fromkeys(tags))
        if tags != list(row.tags or []):
            storage.set_data_element_tags_in_transaction(locked.instance, row, tags, ref.actor)
    return locked, tags


# --- stateless apps: form data that is never stored -----------------------------------------------------------
_PARTY_HEADER = re.compile(r"^(partyid|person|org):([0-9]{1,11})$", re.IGNORECASE)


async def stateless_party(runtime: Runtime, caller: access.Caller, party_header: str | None) -> authorization.PartyRef:
    """Whom a stateless form is for: the `party` header (`partyid:N`, `person:SSN`, `org:ORGNR`) or the caller."""
    if party_header is None:
        return await authorization.party_of(runtime.database, caller.subject)
    found = _PARTY_HEADER.match(party_header.strip())
    if found is None:
        raise InvalidInput("The party header is partyid:N, person:SSN or org:ORGNR.", code="invalid_party_header")
    kind, value = found.group(1).lower(), found.group(2)
    party = (await authorization.party_by_id(runtime.database, int(value)) if kind == "partyid"
             else await authorization.party_of(runtime.database, value))
    if party is None or party.is_deleted or party.kind not in ("person", "organization"):
        raise InvalidInput(f"No party {party_header}.", code="invalid_party_header")
    return party


async def stateless_form_data(runtime: Runtime, definition: AppDefinition, data_type_id: str, *,
                              caller: access.Caller | None, party_header: str | None, body: bytes | None,
                              content_type: str | None) -> dict[str, Any]:
    """A stateless app's form data (`/v1/data`): what was sent (or an empty model), prefilled for the party as
    configured, never stored. Anonymous (no caller) only where the data type allows it."""
    data_type = data_type_of(definition, data_type_id)
    if not is_form_data(data_type):
        raise InvalidInput(f"{data_type_id} is not a form data type.", code="not_form_data")
    model = model_of(definition, data_type)
    form_data = decode_form_data(body, content_type, model) if body and body.strip() \
        else canonical_form_data({}, model)
    if caller is None:
        if not (data_type.get("appLogic") or {}).get("allowAnonymousOnStateless"):
            raise Forbidden(f"{data_type_id} is not open to anonymous users.", code="anonymous_not_allowed")
        return form_data
    party = await stateless_party(runtime, caller, party_header)
    await access.require(runtime.database, caller, party.identifier, definition.id, "read")
    return await prefilled(runtime, caller, party, model, form_data)
