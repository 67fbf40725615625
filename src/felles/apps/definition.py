"""Loading an Altinn 3 app folder as it is.

Three generations of folder layout are read:

* legacy: ``App/ui/Settings.json`` + ``App/ui/layouts/*.json`` (one layout set, named ``form``);
* v8: ``App/ui/layout-sets.json`` + ``App/ui/<set>/Settings.json`` + ``App/ui/<set>/layouts/*.json``;
* v9: no layout-sets.json; ``App/ui/<TaskId>/Settings.json`` names the set's ``defaultDataType``.

Loading never stops at the first problem: every file is read, and each problem is recorded as a
:class:`Problem` naming the file (relative to the app folder), the line when known, and what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema
from lxml import etree

from felles.apps.layout import LayoutError, LayoutSet
from felles.apps.lenient_json import JsonFileError, load_json_file

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ALTINN_NS = "http://altinn.no/process"
XACML_NS = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in an app folder."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class AppDefinitionError(ValueError):
    """Raised by :func:`load_app` with ``strict=True`` when the folder has problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass
class LayoutSetDefinition:
    id: str
    data_type: str | None
    tasks: list[str]
    folder: Path
    settings: dict[str, Any]
    layouts: dict[str, Any]
    layout_files: dict[str, Path]
    layout_set: LayoutSet | None = None

    @property
    def page_order(self) -> list[str]:
        order = ((self.settings.get("pages") or {}).get("order")) if isinstance(self.settings, dict) else None
        if isinstance(order, list):
            return [str(page) for page in order]
        return list(self.layouts)


@dataclass
class DataModelDefinition:
    data_type: str
    json_schema: dict[str, Any] | None = None
    json_schema_file: Path | None = None
    xsd: xmlschema.XMLSchema | None = None
    xsd_file: Path | None = None
    validation: dict[str, Any] | None = None
    validation_file: Path | None = None
    prefill: dict[str, Any] | None = None  # `<dataType>.prefill.json`

    @property
    def root_element(self) -> str | None:
        if self.json_schema and isinstance(self.json_schema.get("@xsdRootElement"), str):
            return self.json_schema["@xsdRootElement"]
        if self.xsd is not None and self.xsd.elements:
            return next(iter(self.xsd.elements))
        return None


@dataclass
class ProcessTask:
    id: str
    name: str | None
    task_type: str | None
    actions: list[str]
    kind: str  # task | serviceTask | userTask
    # Each action's type: "processAction" (moves the process: the default) or "serverAction" (runs in place).
    action_types: dict[str, str] = field(default_factory=dict)
    # The data type gateway conditions after this task read (`altinn:connectedDataTypeId`), if set.
    connected_data_type: str | None = None
    # The task type's own configuration (signatureConfig, paymentConfig, pdfConfig …) as name -> values.
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class SequenceFlow:
    id: str
    source: str
    target: str
    condition: Any | None  # the parsed expression, when the flow has a condition
    line: int | None


@dataclass
class ProcessDefinition:
    id: str
    tasks: dict[str, ProcessTask]
    gateways: dict[str, str]  # id -> element kind
    start_events: list[str]
    end_events: list[str]
    flows: list[SequenceFlow]
    # gateway id -> the data type its conditions read (`altinn:connectedDataTypeId`)
    gateway_data_types: dict[str, str] = field(default_factory=dict)
    # gateway id -> its default flow's id (BPMN `default`), taken when no other flow applies
    gateway_defaults: dict[str, str] = field(default_factory=dict)

    @property
    def element_ids(self) -> set[str]:
        return {*self.tasks, *self.gateways, *self.start_events, *self.end_events}


@dataclass
class PolicyRule:
    id: str
    effect: str
    actions: list[str]


@dataclass
class AppDefinition:
    root: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    layout_sets: dict[str, LayoutSetDefinition] = field(default_factory=dict)
    texts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    process: ProcessDefinition | None = None
    policy_rules: list[PolicyRule] = field(default_factory=list)
    models: dict[str, DataModelDefinition] = field(default_factory=dict)
    options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    frontend_settings: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # things Altinn tolerates (its frontend logs them) but a service developer should fix
    warnings: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.metadata.get("id", ""))

    @property
    def policy_xml(self) -> bytes:
        """The app's XACML policy as deployed (config/authorization/policy.xml)."""
        return (self.root / "config" / "authorization" / "policy.xml").read_bytes()

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.relative(path), line, message))

    def warn(self, path: Path, line: int | None, message: str) -> None:
        self.warnings.append(Problem(self.relative(path), line, message))

    def layout_set_for_task(self, task_id: str) -> LayoutSetDefinition | None:
        for layout_set in self.layout_sets.values():
            if task_id in layout_set.tasks:
                return layout_set
        return None


def find_app_folder(path: Path) -> Path:
    """Accept either the repository root (holding ``App/``) or the ``App`` folder itself."""
    if (path / "App").is_dir() and not (path / "config").is_dir():
        return path / "App"
    return path


def line_of(path: Path, needle: str, occurrence: int = 1) -> int | None:
    """Line of the ``occurrence``-th line containing ``needle``; a best effort for JSON problems."""
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return None
    seen = 0
    for number, text in enumerate(lines, start=1):
        if needle in text:
            seen += 1
            if seen == occurrence:
                return number
    return None


def _read_json(app: AppDefinition, path: Path, expected: type = dict) -> Any:
    try:
        data = load_json_file(path, app.relative(path))
    except JsonFileError as error:
        app.problems.append(Problem(error.source, error.line, f"invalid JSON: {error.problem}"))
        return None
    except OSError as error:
        app.problem(path, None, f"cannot be read: {error.strerror}")
        return None
    if not isinstance(data, expected):
        kind = "an object" if expected is dict else "a list"
        app.problem(path, 1, f"must hold {kind} at the top level, found {type(data).__name__}")
        return None
    return data


def _read_xml(app: AppDefinition, path: Path) -> etree._Element | None:
    try:
        return etree.parse(str(path), _XML_PARSER).getroot()
    except etree.XMLSyntaxError as error:
        app.problem(path, error.lineno, f"invalid XML: {error.msg}")
    except OSError as error:
        app.problem(path, None, f"cannot be read: {error}")
    return None


def load_app(path: Path, *, strict: bool = False) -> AppDefinition:
    """Read every file of an app folder; problems are collected in ``problems`` (or raised when strict)."""
    root = find_app_folder(Path(path))
    app = AppDefinition(root)
    if not root.is_dir():
        app.problems.append(Problem(str(path), None, "is not a folder"))
    else:
        _load_metadata(app)
        _load_layout_sets(app)
        _load_texts(app)
        _load_process(app)
        _load_policy(app)
        _load_models(app)
        _load_options(app)
        _load_settings(app)
    if strict and app.problems:
        raise AppDefinitionError(app.problems)
    return app


def _load_metadata(app: AppDefinition) -> None:
    path = app.root / "config" / "applicationmetadata.json"
    if not path.is_file():
        app.problem(path, None, "is missing (every app needs config/applicationmetadata.json)")
        return
    metadata = _read_json(app, path)
    if metadata is None:
        return
    app.metadata = metadata
    app_id = metadata.get("id")
    if not isinstance(app_id, str) or "/" not in app_id:
        app.problem(path, line_of(path, '"id"'), f'"id" must be "org/app", found {json.dumps(app_id)}')
    data_types = metadata.get("dataTypes")
    if not isinstance(data_types, list):
        app.problem(path, line_of(path, '"dataTypes"'), '"dataTypes" must be a list')
        return
    seen: set[str] = set()
    for data_type in data_types:
        data_type_id = data_type.get("id") if isinstance(data_type, dict) else None
        if not isinstance(data_type_id, str):
            app.problem(path, line_of(path, '"dataTypes"'), "a data type has no string id")
            continue
        if data_type_id in seen:
            app.problem(path, line_of(path, f'"{data_type_id}"'), f'data type "{data_type_id}" is listed twice')
        seen.add(data_type_id)


def _load_layout_folder(app: AppDefinition, folder: Path, set_id: str, data_type: str | None, tasks: list[str]) -> None:
    settings_path = folder / "Settings.json"
    settings = _read_json(app, settings_path) if settings_path.is_file() else {}
    settings = settings or {}
    if data_type is None and isinstance(settings.get("defaultDataType"), str):
        data_type = settings["defaultDataType"]
    layouts: dict[str, Any] = {}
    files: dict[str, Path] = {}
    layout_folder = folder / "layouts"
    for layout_path in sorted(layout_folder.glob("*.json")):
        layout = _read_json(app, layout_path)
        if layout is None:
            continue
        data = layout.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("layout"), list):
            app.problem(layout_path, line_of(layout_path, '"data"') or 1, 'must have "data": {"layout": [...]}')
            continue
        page_ok = True
        for position, component in enumerate(data["layout"]):
            if not isinstance(component, dict) or not isinstance(component.get("id"), str):
                app.problem(layout_path, None, f'component #{position + 1} has no string "id"')
                page_ok = False
            elif not isinstance(component.get("type"), str):
                line = line_of(layout_path, f'"{component["id"]}"')
                app.problem(layout_path, line, f'component "{component["id"]}" has no "type"')
                page_ok = False
        if page_ok:
            layouts[layout_path.stem] = layout
            files[layout_path.stem] = layout_path
    definition = LayoutSetDefinition(set_id, data_type, tasks, folder, settings, layouts, files)
    # pages in the order Settings.json gives, then any others
    ordered = [page for page in definition.page_order if page in layouts]
    ordered += [page for page in layouts if page not in ordered]
    definition.layouts = {page: layouts[page] for page in ordered}

    def warn_missing_child(message: str) -> None:
        culprit = _file_for_layout_error(definition, message)
        app.warn(culprit[0], culprit[1], message + " (Altinn ignores it)")

    try:
        definition.layout_set = LayoutSet.from_layouts(definition.layouts, warn_missing_child)
        definition.layout_set.unlisted_pages = frozenset(layouts) - frozenset(definition.page_order)
    except LayoutError as error:
        culprit = _file_for_layout_error(definition, str(error))
        app.problem(culprit[0], culprit[1], str(error))
    app.layout_sets[set_id] = definition


def _file_for_layout_error(definition: LayoutSetDefinition, message: str) -> tuple[Path, int | None]:
    quoted = re.findall(r'"([^"]+)"', message)
    for page, path in reversed(definition.layout_files.items()):
        if f"page {page}" in message or f"pages {page}" in message or f"and {page})" in message:
            return path, line_of(path, f'"{quoted[-1]}"') if quoted else None
    for path in definition.layout_files.values():
        if quoted and line_of(path, f'"{quoted[0]}"'):
            return path, line_of(path, f'"{quoted[0]}"')
    return definition.folder, None


def _load_layout_sets(app: AppDefinition) -> None:
    ui = app.root / "ui"
    sets_path = ui / "layout-sets.json"
    if sets_path.is_file():
        layout_sets = _read_json(app, sets_path)
        if layout_sets is None:
            return
        sets = layout_sets.get("sets")
        if not isinstance(sets, list):
            app.problem(sets_path, line_of(sets_path, '"sets"') or 1, '"sets" must be a list')
            return
        for entry in sets:
            set_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(set_id, str):
                app.problem(sets_path, line_of(sets_path, '"sets"'), "a layout set has no string id")
                continue
            folder = ui / set_id
            if not folder.is_dir():
                app.problem(
                    sets_path, line_of(sets_path, f'"{set_id}"'), f'layout set "{set_id}" has no folder ui/{set_id}'
                )
                continue
            tasks = [str(t) for t in entry.get("tasks") or []]
            data_type = entry.get("dataType") if isinstance(entry.get("dataType"), str) else None
            _load_layout_folder(app, folder, set_id, data_type, tasks)
    elif (ui / "layouts").is_dir():
        _load_layout_folder(app, ui, "form", None, ["Task_1"])
    elif ui.is_dir():
        for folder in sorted(p for p in ui.iterdir() if p.is_dir() and (p / "layouts").is_dir()):
            _load_layout_folder(app, folder, folder.name, None, [folder.name])


def _load_texts(app: AppDefinition) -> None:
    folder = app.root / "config" / "texts"
    for path in sorted(folder.glob("resource.*.json")):
        language = path.name.removeprefix("resource.").removesuffix(".json")
        texts = _read_json(app, path)
        if texts is None:
            continue
        declared = texts.get("language")
        if declared is not None and declared != language:
            app.problem(
                path, line_of(path, '"language"'), f'declares language "{declared}" but the file name says "{language}"'
            )
        resources = texts.get("resources")
        if not isinstance(resources, list):
            app.problem(path, line_of(path, '"resources"') or 1, '"resources" must be a list')
            continue
        by_id: dict[str, dict[str, Any]] = {}
        occurrences: dict[str, int] = {}
        for resource in resources:
            if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
                app.problem(path, None, "a text resource has no string id")
                continue
            text_id = resource["id"]
            occurrences[text_id] = occurrences.get(text_id, 0) + 1
            if text_id in by_id:
                line = line_of(path, f'"id": "{text_id}"', occurrence=occurrences[text_id])
                app.warn(path, line, f'text "{text_id}" is defined more than once (the last one is used)')
            for variable in resource.get("variables") or []:
                if not isinstance(variable, dict) or not {"key", "dataSource"} <= variable.keys():
                    app.problem(
                        path,
                        line_of(path, f'"{text_id}"'),
                        f'text "{text_id}" has a variable without "key" and "dataSource"',
                    )
            by_id[text_id] = resource
        app.texts[language] = by_id


def _load_process(app: AppDefinition) -> None:
    path = app.root / "config" / "process" / "process.bpmn"
    if not path.is_file():
        app.problem(path, None, "is missing (every app needs config/process/process.bpmn)")
        return
    root = _read_xml(app, path)
    if root is None:
        return
    process = root.find(f"{{{BPMN_NS}}}process")
    if process is None:
        app.problem(path, root.sourceline, "has no <bpmn:process> element")
        return
    tasks: dict[str, ProcessTask] = {}
    gateways: dict[str, str] = {}
    starts: list[str] = []
    ends: list[str] = []
    flows: list[SequenceFlow] = []
    gateway_data_types: dict[str, str] = {}
    gateway_defaults: dict[str, str] = {}
    for element in process:
        if not isinstance(element.tag, str):
            continue
        kind = etree.QName(element).localname
        element_id = element.get("id")
        if element_id is None:
            app.problem(path, element.sourceline, f"<bpmn:{kind}> has no id")
            continue
        if kind in ("task", "serviceTask", "userTask"):
            # Older templates wrote the type as an attribute: <bpmn:task altinn:tasktype="data">.
            task_type = element.findtext(f".//{{{ALTINN_NS}}}taskType") or element.get(f"{{{ALTINN_NS}}}tasktype")
            action_elements = list(element.iterfind(f".//{{{ALTINN_NS}}}action"))
            actions = [(action.text or "").strip() for action in action_elements]
            tasks[element_id] = ProcessTask(
                element_id, element.get("name"), task_type, actions, kind,
                action_types={(action.text or "").strip(): action.get("type", "processAction")
                              for action in action_elements},
                connected_data_type=element.findtext(f".//{{{ALTINN_NS}}}connectedDataTypeId"),
                config=_task_config(element),
            )
            if kind == "task" and not task_type:
                app.problem(path, element.sourceline, f'task "{element_id}" has no <altinn:taskType>')
        elif kind.endswith("Gateway"):
            gateways[element_id] = kind
            connected = element.findtext(f".//{{{ALTINN_NS}}}connectedDataTypeId")
            if connected:
                gateway_data_types[element_id] = connected
            if element.get("default"):
                gateway_defaults[element_id] = element.get("default", "")
        elif kind == "startEvent":
            starts.append(element_id)
        elif kind == "endEvent":
            ends.append(element_id)
        elif kind == "sequenceFlow":
            condition = None
            condition_element = element.find(f"{{{BPMN_NS}}}conditionExpression")
            if condition_element is not None and (condition_element.text or "").strip():
                try:
                    condition = json.loads(condition_element.text or "")
                except json.JSONDecodeError as error:
                    app.problem(
                        path,
                        condition_element.sourceline,
                        f'condition of flow "{element_id}" is not a JSON expression: {error.msg}',
                    )
            flows.append(
                SequenceFlow(
                    element_id,
                    element.get("sourceRef", ""),
                    element.get("targetRef", ""),
                    condition,
                    element.sourceline,
                )
            )
    app.process = ProcessDefinition(process.get("id", ""), tasks, gateways, starts, ends, flows, gateway_data_types,
                                    gateway_defaults)
    if len(starts) != 1:
        app.problem(path, process.sourceline, f"must have exactly one start event, found {len(starts)}")
    if not ends:
        app.problem(path, process.sourceline, "has no end event")
    known = app.process.element_ids
    for flow in flows:
        for end in (flow.source, flow.target):
            if end not in known:
                app.problem(path, flow.line, f'sequence flow "{flow.id}" refers to unknown element "{end}"')


_TASK_CONFIGS = ("signatureConfig", "paymentConfig", "pdfConfig", "eFormidlingConfig", "subformPdfConfig",
                 "userActionConfig")


def _task_config(task: etree._Element) -> dict[str, Any]:
    """A task's configuration elements as plain values: a leaf's text, or a list where the element repeats
    (`<altinn:dataTypesToSign><altinn:dataType>a</…><altinn:dataType>b</…>` → {"dataTypesToSign": ["a", "b"]})."""
    found: dict[str, Any] = {}
    for name in _TASK_CONFIGS:
        element = task.find(f".//{{{ALTINN_NS}}}{name}")
        if element is not None:
            found[name] = _config_value(element)
    return found


def _config_value(element: etree._Element) -> Any:
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        return (element.text or "").strip()
    names = [etree.QName(child).localname for child in children]
    if (len(set(names)) == 1 and len(names) > 1) or names[0] in ("dataType", "taskId"):
        return [_config_value(child) for child in children]
    return {name: _config_value(child) for name, child in zip(names, children, strict=True)}


def _load_policy(app: AppDefinition) -> None:
    path = app.root / "config" / "authorization" / "policy.xml"
    if not path.is_file():
        app.problem(path, None, "is missing (every app needs config/authorization/policy.xml)")
        return
    root = _read_xml(app, path)
    if root is None:
        return
    if root.tag != f"{{{XACML_NS}}}Policy":
        app.problem(path, root.sourceline, f"root element must be xacml:Policy, found {etree.QName(root).localname}")
        return
    if not root.get("RuleCombiningAlgId"):
        app.problem(path, root.sourceline, "xacml:Policy has no RuleCombiningAlgId")
    for rule in root.iterfind(f"{{{XACML_NS}}}Rule"):
        effect = rule.get("Effect", "")
        if effect not in ("Permit", "Deny"):
            app.problem(
                path, rule.sourceline, f'rule "{rule.get("RuleId")}" has Effect "{effect}" (must be Permit or Deny)'
            )
        actions = [
            (value.text or "").strip()
            for match in rule.iterfind(f".//{{{XACML_NS}}}Match")
            if (designator := match.find(f"{{{XACML_NS}}}AttributeDesignator")) is not None
            and designator.get("AttributeId") == "urn:oasis:names:tc:xacml:1.0:action:action-id"
            for value in match.iterfind(f"{{{XACML_NS}}}AttributeValue")
        ]
        app.policy_rules.append(PolicyRule(rule.get("RuleId", ""), effect, actions))
    if not app.policy_rules:
        app.problem(path, root.sourceline, "has no rules, so nobody may do anything with the app")


def _load_models(app: AppDefinition) -> None:
    folder = app.root / "models"
    if not folder.is_dir():
        return

    def model(data_type: str) -> DataModelDefinition:
        return app.models.setdefault(data_type, DataModelDefinition(data_type))

    for path in sorted(folder.iterdir()):
        name = path.name
        if name.endswith(".schema.json"):
            schema = _read_json(app, path)
            if schema is None:
                continue
            try:
                validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
                validator.check_schema(schema)
            except jsonschema.SchemaError as error:
                pointer = "/".join(map(str, error.absolute_path))
                needle = f'"{error.absolute_path[-1]}"' if error.absolute_path else '"$schema"'
                app.problem(path, line_of(path, needle), f"invalid JSON Schema at /{pointer}: {error.message}")
                continue
            entry = model(name.removesuffix(".schema.json"))
            entry.json_schema, entry.json_schema_file = schema, path
        elif name.endswith(".xsd"):
            if _read_xml(app, path) is None:
                continue
            try:
                schema_xsd = xmlschema.XMLSchema(str(path))
            except (xmlschema.XMLSchemaException, etree.LxmlError, ValueError) as error:
                source_line = getattr(getattr(error, "elem", None), "sourceline", None)
                reason = (getattr(error, "reason", None) or str(error).splitlines()[0]).rstrip(":")
                if source_line is None:
                    # xmlschema parses with ElementTree (no line numbers): find the quoted culprit instead
                    quoted = re.findall(r"'([^']+)'", reason)
                    source_line = line_of(path, f'"{quoted[0]}"') if quoted else None
                app.problem(path, source_line, f"invalid XML Schema: {reason}")
                continue
            entry = model(name.removesuffix(".xsd"))
            entry.xsd, entry.xsd_file = schema_xsd, path
        elif name.endswith(".validation.json"):
            rules = _read_json(app, path)
            if rules is None:
                continue
            if not isinstance(rules.get("validations", {}), dict) or not isinstance(rules.get("definitions", {}), dict):
                app.problem(path, 1, '"validations" and "definitions" must be objects')
                continue
            entry = model(name.removesuffix(".validation.json"))
            entry.validation, entry.validation_file = rules, path
        elif name.endswith(".prefill.json"):
            prefill = _read_json(app, path)
            if prefill is not None:
                model(name.removesuffix(".prefill.json")).prefill = prefill
        elif name.endswith(".json"):
            _read_json(app, path)  # metadata files: must at least parse


def _load_options(app: AppDefinition) -> None:
    folder = app.root / "options"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        options = _read_json(app, path, expected=list)
        if options is None:
            continue
        for position, option in enumerate(options):
            if not isinstance(option, dict) or "value" not in option or "label" not in option:
                app.problem(path, None, f'option #{position + 1} needs both "value" and "label"')
                break
        else:
            app.options[path.stem] = options


def _load_settings(app: AppDefinition) -> None:
    path = app.root / "appsettings.json"
    if path.is_file():
        settings = _read_json(app, path)
        if settings is not None and isinstance(settings.get("FrontEndSettings"), dict):
            app.frontend_settings = settings["FrontEndSettings"]
