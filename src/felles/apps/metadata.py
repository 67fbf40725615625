"""What an app tells about itself, as app-lib serves it: its metadata, layouts, texts, options and schemas.

Everything here is read from the deployed app definition (held in memory per version), never from the database,
and shaped as app-lib shapes it, so that Altinn's own frontend reads it unchanged. app-lib fills in defaults that
an applicationmetadata.json may leave out (a data type's counts, the party types, what happens on entry); Felles
fills in the same, so a client sees the same document from both.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog

from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.deployment import RunningApp
from felles.apps.lenient_json import JsonFileError, load_json_file
from felles.core.errors import InvalidInput, NotFound

log = structlog.get_logger("felles.apps.metadata")

# The app-lib version whose API Felles answers as: app-frontend-react checks it before it uses newer features.
ALTINN_NUGET_VERSION = "8.9.0.0"
DEFAULT_LANGUAGE = "nb"

_DATA_TYPE_DEFAULTS: dict[str, Any] = {
    "allowedContentTypes": None, "maxCount": 0, "minCount": 0, "enablePdfCreation": True, "enableFileScan": False,
    "validationErrorOnPendingFileScan": False,
}
_APP_LOGIC_DEFAULTS: dict[str, Any] = {
    "allowAnonymousOnStateless": False, "autoDeleteOnProcessEnd": False, "disallowUserCreate": False,
    "disallowUserDelete": False,
}
PARTY_TYPES = ("bankruptcyEstate", "organisation", "person", "subUnit")


def application_metadata(app: RunningApp) -> dict[str, Any]:
    """applicationmetadata.json as app-lib serves it: the file with app-lib's defaults filled in."""
    metadata = copy.deepcopy(app.definition.metadata)
    for data_type in metadata.get("dataTypes") or []:
        if isinstance(data_type, dict):
            for key, value in _DATA_TYPE_DEFAULTS.items():
                data_type.setdefault(key, value)
            if isinstance(data_type.get("appLogic"), dict):
                for key, value in _APP_LOGIC_DEFAULTS.items():
                    data_type["appLogic"].setdefault(key, value)
    metadata["partyTypesAllowed"] = party_types_allowed(app.definition)
    metadata.setdefault("autoDeleteOnProcessEnd", False)
    metadata.setdefault("disallowUserInstantiation", False)
    metadata.setdefault("onEntry", {"show": "new-instance"})
    metadata["versionId"] = str(app.version)
    metadata["altinnNugetVersion"] = ALTINN_NUGET_VERSION
    return metadata


def party_types_allowed(definition: AppDefinition) -> dict[str, bool]:
    """The app's `partyTypesAllowed`, every type named (all False means every party type may instantiate)."""
    given = definition.metadata.get("partyTypesAllowed")
    given = given if isinstance(given, dict) else {}
    return {name: bool(given.get(name, False)) for name in PARTY_TYPES}


def application_languages(definition: AppDefinition) -> list[dict[str, str]]:
    """The languages the app has texts in (`config/texts/resource.{language}.json`)."""
    return [{"language": language} for language in sorted(definition.texts)]


def texts(app: RunningApp, language: str) -> dict[str, Any]:
    """The app's texts in `language` (a two-letter code), or in Norwegian bokmål when it has none in that one."""
    if len(language) != 2:
        raise InvalidInput(f"Provided language {language} is invalid. Language code should consists of two "
                           "characters.", code="invalid_language")
    found = language if language in app.definition.texts else DEFAULT_LANGUAGE
    if found not in app.definition.texts:
        raise NotFound(f"The app {app.id} has no texts in {language}.", code="texts_not_found")
    return {"id": f"{app.org}-{app.name}-{found}", "org": app.org, "language": found,
            "resources": list(app.definition.texts[found].values())}


def layout_sets(definition: AppDefinition) -> dict[str, Any]:
    """`ui/layout-sets.json`; for an app laid out without one (folders named by task), the sets it implies."""
    declared = _optional_json(definition.root / "ui" / "layout-sets.json")
    if isinstance(declared, dict):
        return declared
    return {"sets": [{"id": layout_set.id, **({"dataType": layout_set.data_type} if layout_set.data_type else {}),
                      "tasks": layout_set.tasks} for layout_set in definition.layout_sets.values()]}


def _layout_set(definition: AppDefinition, layout_set_id: str) -> LayoutSetDefinition:
    """A layout set by its id, or by the task it is shown in (the newest frontend names UI folders by task)."""
    found = definition.layout_sets.get(layout_set_id) or definition.layout_set_for_task(layout_set_id)
    if found is None:
        raise NotFound(f"The app has no layout set {layout_set_id}.", code="layout_set_not_found")
    return found


def layouts(definition: AppDefinition, layout_set_id: str) -> dict[str, Any]:
    """The pages of a layout set by name, in their order."""
    return dict(_layout_set(definition, layout_set_id).layouts)


def layout_settings(definition: AppDefinition, layout_set_id: str) -> dict[str, Any]:
    """A layout set's Settings.json."""
    return dict(_layout_set(definition, layout_set_id).settings)


@dataclass(frozen=True)
class AppOptions:
    """An option list and the parameters it was made with (app-lib's `Altinn-DownstreamParameters`)."""

    options: list[dict[str, Any]]
    parameters: dict[str, str]

    @property
    def downstream_parameters(self) -> str:
        """The parameters as app-lib writes them in the header: `name=value` pairs, URL-encoded, comma-separated."""
        return ",".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in self.parameters.items())


def options(definition: AppDefinition, options_id: str) -> AppOptions:
    """A static option list (`App/options/{id}.json`). Options computed by an app's own code, and code lists
    from Altinn's shared library (`lib**org**id**version`), do not exist in Felles: they are not found."""
    found = definition.options.get(options_id)
    if found is None:
        raise NotFound(f"The app has no options {options_id}.", code="options_not_found")
    return AppOptions([_option(option) for option in found], {})


def _option(option: dict[str, Any]) -> dict[str, Any]:
    # app-lib's AppOption holds the value as a string (numbers and booleans in the file are written as text)
    value = option.get("value")
    shaped = dict(option)
    if isinstance(value, bool):
        shaped["value"] = "true" if value else "false"
    elif value is not None:
        shaped["value"] = str(value)
    return shaped


def no_data_list(app: RunningApp, data_list_id: str) -> NotFound:
    """Data lists are made by an app's own code in app-lib (IDataListProvider), which Felles does not run."""
    return NotFound(f"The app {app.id} has no data list {data_list_id}: data lists are made by an app's own code, "
                    "which Felles does not run.", code="data_list_not_found")


def json_schema(definition: AppDefinition, model: str) -> dict[str, Any]:
    found = definition.models.get(model)
    if found is None or found.json_schema is None:
        raise NotFound(f"The app has no JSON schema for the model {model}.", code="model_not_found")
    return found.json_schema


def xsd_schema(definition: AppDefinition, model: str) -> bytes:
    found = definition.models.get(model)
    if found is None or found.xsd_file is None:
        raise NotFound(f"The app has no XML schema for the model {model}.", code="model_not_found")
    return found.xsd_file.read_bytes()


def validation_config(definition: AppDefinition, data_type: str) -> dict[str, Any] | None:
    """The data type's expression validations (`models/{dataType}.validation.json`), None when it has none."""
    found = definition.models.get(data_type)
    return found.validation if found is not None else None


def _optional_json(path: Path) -> Any:
    """A JSON file the app may have; None when it has none, or when it cannot be read (deployment does not check
    these older or optional files, and a broken one is as good as none to a client)."""
    if not path.is_file():
        return None
    try:
        return load_json_file(path)
    except JsonFileError as error:
        log.warning("app_file_unreadable", file=str(path), problem=error.problem)
        return None


def footer(definition: AppDefinition) -> dict[str, Any] | None:
    """`ui/footer.json`, None when the app has no footer."""
    return _optional_json(definition.root / "ui" / "footer.json")  # type: ignore[no-any-return]


def rule_handler(definition: AppDefinition, layout_set_id: str) -> bytes | None:
    """An older app's `RuleHandler.js` for a layout set (its `ui/RuleHandler.js` when laid out as one set)."""
    folder = _layout_set(definition, layout_set_id).folder
    path = folder / "RuleHandler.js"
    return path.read_bytes() if path.is_file() else None


def rule_configuration(definition: AppDefinition, layout_set_id: str) -> dict[str, Any] | None:
    """An older app's `RuleConfiguration.json` for a layout set, None when it has none."""
    path = _layout_set(definition, layout_set_id).folder / "RuleConfiguration.json"
    return _optional_json(path)  # type: ignore[no-any-return]


def ui_configuration(definition: AppDefinition) -> dict[str, Any]:
    """app-lib's UiConfiguration: each UI folder's Settings.json by folder (a layout set, in an app laid out by
    task named by its task), and the app's global UI settings (`ui/Settings.json`)."""
    folders = {}
    for layout_set in definition.layout_sets.values():
        settings = dict(layout_set.settings)
        if layout_set.data_type and "defaultDataType" not in settings:
            settings["defaultDataType"] = layout_set.data_type  # a layout-sets.json app names it there
        # An app with layout-sets.json names its folders freely; the newest frontend looks a task's up by the task.
        for name in (layout_set.id, *layout_set.tasks):
            folders.setdefault(name, settings)
    global_settings = _optional_json(definition.root / "ui" / "Settings.json")
    return {"folders": folders, "settings": global_settings if isinstance(global_settings, dict) else {}}


def _referenced_data_types(value: Any, found: set[str]) -> None:
    """Data types named by bindings (`{"field": …, "dataType": …}`) and by ["dataModel", path, dataType]."""
    if isinstance(value, dict):
        bindings = value.get("dataModelBindings")
        if isinstance(bindings, dict):
            found.update(binding["dataType"] for binding in bindings.values()
                         if isinstance(binding, dict) and isinstance(binding.get("dataType"), str))
        for child in value.values():
            _referenced_data_types(child, found)
    elif isinstance(value, list):
        if len(value) >= 3 and value[0] == "dataModel" and isinstance(value[2], str):
            found.add(value[2])
        for child in value:
            _referenced_data_types(child, found)


def _referenced_options(value: Any, found: set[str]) -> None:
    """Option lists a layout names: components' `optionsId`, and ["optionLabel", id, …] expressions."""
    if isinstance(value, dict):
        if isinstance(value.get("optionsId"), str) and value["optionsId"]:
            found.add(value["optionsId"])
        for child in value.values():
            _referenced_options(child, found)
    elif isinstance(value, list):
        if len(value) >= 2 and value[0] == "optionLabel" and isinstance(value[1], str):
            found.add(value[1])
        for child in value:
            _referenced_options(child, found)


@dataclass(frozen=True)
class FormBootstrap:
    """app-lib's bootstrap-form of a UI folder, less the form data (`document`), and the folder's default data
    type. `document["dataModels"][type]` lacks `initialData` (and `dataElementId`): the instance's or the
    stateless form's data fills them in."""

    default_data_type: str
    document: dict[str, Any]


def form_bootstrap(definition: AppDefinition, ui_folder: str) -> FormBootstrap:
    """A UI folder's pages, the static option lists they use, and for each data type they read its schema and
    expression validations, as app-lib's bootstrap-form gives them."""
    layout_set = _layout_set(definition, ui_folder)
    default_data_type = ui_configuration(definition)["folders"].get(ui_folder, {}).get("defaultDataType")
    if not default_data_type:
        raise NotFound(f"The UI folder {ui_folder} names no default data type.", code="layout_set_not_found")
    data_types = {default_data_type}
    _referenced_data_types(layout_set.layouts, data_types)
    option_ids: set[str] = set()
    _referenced_options(layout_set.layouts, option_ids)
    data_models = {}
    for data_type in sorted(data_types):
        model = definition.models.get(data_type)
        if model is None or model.json_schema is None:
            continue  # not form data (app-lib reads only data types with a model)
        data_models[data_type] = {"schema": model.json_schema, **(
            {"expressionValidationConfig": model.validation} if model.validation is not None else {})}
    return FormBootstrap(default_data_type, {
        "layouts": dict(layout_set.layouts), "dataModels": data_models,
        "staticOptions": {option_id: {"options": [_option(option) for option in definition.options[option_id]]}
                          for option_id in sorted(option_ids) if option_id in definition.options}})


def anonymous_allowed(definition: AppDefinition, data_types: list[str]) -> bool:
    """Whether a stateless form of these data types may be filled in without logging in (each data type's
    `appLogic.allowAnonymousOnStateless`)."""
    by_id = {data_type.get("id"): data_type for data_type in definition.metadata.get("dataTypes") or []
             if isinstance(data_type, dict)}
    return bool(data_types) and all(
        bool(((by_id.get(data_type) or {}).get("appLogic") or {}).get("allowAnonymousOnStateless"))
        for data_type in data_types)


# A prefill from the query names fields by dotted property names only: app-lib sets properties by name, and a row
# index would let a URL make a form of any size.
_PREFILL_FIELD = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*){0,20}$")
MAX_QUERY_PREFILL_FIELDS = 200


def query_prefill(raw: str | None, default_data_type: str) -> dict[str, dict[str, str]]:
    """The `prefill` query parameter of a stateless form: `{"field": "value"}` for the folder's default data
    type, or `{"dataType": {"field": "value"}}`; fields by their dotted path in the data model."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and all(isinstance(value, str) for value in parsed.values()):
        parsed = {default_data_type: parsed}
    valid = isinstance(parsed, dict) and all(
        isinstance(fields, dict) and all(isinstance(field, str) and _PREFILL_FIELD.match(field)
                                         and isinstance(value, str) for field, value in fields.items())
        for fields in parsed.values())
    if not valid or sum(len(fields) for fields in parsed.values()) > MAX_QUERY_PREFILL_FIELDS:
        raise InvalidInput("The 'prefill' query parameter must be a JSON object with string values (fields by their "
                           "dotted path), optionally keyed by data type.", code="invalid_prefill")
    return parsed  # type: ignore[no-any-return]


def nested(fields: dict[str, str]) -> dict[str, Any]:
    """Values by dotted path (`{"Soker.Fornavn": "Kari"}`) as the JSON document they name."""
    document: dict[str, Any] = {}
    for path, value in fields.items():
        *parents, name = path.split(".")
        node = document
        for parent in parents:
            child = node.setdefault(parent, {})
            if not isinstance(child, dict):
                raise InvalidInput(f"The prefill names {path} inside a value.", code="invalid_prefill")
            node = child
        node[name] = value
    return document


def application_settings(definition: AppDefinition) -> dict[str, Any]:
    """The app's front-end settings (`appsettings.json` → FrontEndSettings), keys in camelCase as app-lib writes
    them."""
    return {name[:1].lower() + name[1:]: value for name, value in definition.frontend_settings.items()}


def policy(definition: AppDefinition) -> bytes:
    return definition.policy_xml


def process(definition: AppDefinition) -> bytes:
    return (definition.root / "config" / "process" / "process.bpmn").read_bytes()
