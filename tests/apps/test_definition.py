"""Loading app folders: every reference app, and a precise error for each kind of broken file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from felles.apps.definition import AppDefinitionError, load_app

REFERENCE_APPS = (Path(__file__).resolve().parents[2] / "../shared/reference/altinn-apps").resolve()

REFERENCE_APP_NAMES = sorted(p.name for p in REFERENCE_APPS.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", REFERENCE_APP_NAMES)
def test_every_reference_app_loads_without_problems(name: str) -> None:
    app = load_app(REFERENCE_APPS / name, strict=True)
    assert app.metadata["id"].count("/") == 1
    assert app.layout_sets and all(s.layout_set is not None for s in app.layout_sets.values())
    assert app.process is not None and app.process.tasks
    assert app.policy_rules


def test_three_folder_generations_give_the_same_kind_of_layout_sets(tmp_path: Path) -> None:
    v9 = load_app(REFERENCE_APPS / "altinn-studio-signing-test")
    assert {s.id: (s.data_type, s.tasks) for s in v9.layout_sets.values()}["Task_1"] == ("data", ["Task_1"])
    v8 = load_app(REFERENCE_APPS / "app-lib-dotnet-basic")
    assert [(s.id, s.data_type, s.tasks) for s in v8.layout_sets.values()] == [("form", "model", ["Task_1"])]
    # legacy: ui/Settings.json + ui/layouts/
    legacy = _copy(tmp_path, "app-lib-dotnet-basic")
    ui = legacy / "App" / "ui"
    (ui / "layout-sets.json").unlink()
    shutil.move(ui / "form" / "layouts", ui / "layouts")
    shutil.move(ui / "form" / "Settings.json", ui / "Settings.json")
    loaded = load_app(legacy, strict=True)
    assert list(loaded.layout_sets) == ["form"]
    assert list(loaded.layout_sets["form"].layouts) == ["Side1"]


def test_layout_pages_follow_the_order_in_settings() -> None:
    app = load_app(REFERENCE_APPS / "altinn-studio-frontend-test")
    task2 = app.layout_sets["Task_2"]
    assert list(task2.layouts)[:3] == ["form", "numeric-fields", "label-data-bindings"]


def test_texts_are_read_per_language_with_variables() -> None:
    app = load_app(REFERENCE_APPS / "altinn-studio-frontend-test")
    assert set(app.texts) == {"nb", "en"}
    assert any(resource.get("variables") for resource in app.texts["nb"].values())


def test_gateway_conditions_are_read_as_expressions() -> None:
    app = load_app(REFERENCE_APPS / "altinn-studio-frontend-test")
    assert app.process is not None
    conditions = [flow.condition for flow in app.process.flows if flow.condition is not None]
    assert ["equals", ["dataModel", "GwTargetTask"], "Task_2"] in conditions


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(REFERENCE_APPS / name, target)
    return target


# (file to break, how to break it, expected "file:line: message" problem text)
BREAKAGES = [
    (
        "App/config/applicationmetadata.json",
        lambda text: text.replace('"id": "ttd/basic"', '"id": "ttd/basic" "org": 1', 1),
        "config/applicationmetadata.json:2:",
    ),
    (
        "App/ui/form/layouts/Side1.json",
        lambda text: text.replace('"data"', '"data" :: ', 1),
        "ui/form/layouts/Side1.json:",
    ),
    (
        "App/ui/layout-sets.json",
        lambda text: text.replace('"sets"', '"sets": 5, "x"', 1),
        "ui/layout-sets.json:",
    ),
    (
        "App/config/texts/resource.nb.json",
        lambda text: text.replace('"resources"', '"resources": {}, "old"', 1),
        "config/texts/resource.nb.json:",
    ),
    (
        "App/config/process/process.bpmn",
        lambda text: text.replace("</bpmn:process>", "</bpmn:proces>", 1),
        "config/process/process.bpmn:",
    ),
    (
        "App/config/authorization/policy.xml",
        lambda text: text.replace('Effect="Permit"', 'Effect="Maybe"', 1),
        "config/authorization/policy.xml:",
    ),
    (
        "App/models/model.schema.json",
        lambda text: text.replace('"type": "object"', '"type": "objekt"', 1),
        "models/model.schema.json:",
    ),
    (
        "App/models/model.xsd",
        lambda text: text.replace('type="xs:string"', 'type="xs:strung"', 1),
        "models/model.xsd:",
    ),
]

EXPECTED_MESSAGES = [
    "invalid JSON: Expecting ',' delimiter",
    "invalid JSON: Expecting value",
    '"sets" must be a list',
    '"resources" must be a list',
    "invalid XML: Opening and ending tag mismatch: process",
    'has Effect "Maybe" (must be Permit or Deny)',
    "invalid JSON Schema at /type: 'objekt' is not valid",
    "invalid XML Schema:",
]


@pytest.mark.parametrize(
    ("relative", "breakage", "where", "message"),
    [(*b, m) for b, m in zip(BREAKAGES, EXPECTED_MESSAGES, strict=True)],
    ids=[b[0].rsplit("/", 1)[-1] for b in BREAKAGES],
)
def test_each_kind_of_broken_file_gets_a_precise_error(
    tmp_path: Path, relative: str, breakage, where: str, message: str
) -> None:
    app_folder = _copy(tmp_path, "app-lib-dotnet-basic")
    path = app_folder / relative
    original = path.read_text(encoding="utf-8-sig")
    broken = breakage(original)
    assert broken != original, "the breakage must change the file"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(AppDefinitionError) as raised:
        load_app(app_folder, strict=True)
    problems = [str(p) for p in raised.value.problems]
    assert any(p.startswith(where) and message in p for p in problems), problems
    # the file name and a line number are always given for these
    assert all(p.split(":")[1].strip().isdigit() for p in problems if p.startswith(where)), problems


def test_an_options_file_without_labels_is_reported(tmp_path: Path) -> None:
    app_folder = _copy(tmp_path, "app-lib-dotnet-basic")
    (app_folder / "App" / "options").mkdir()
    (app_folder / "App" / "options" / "colours.json").write_text('[{"value": "red"}]')
    app = load_app(app_folder)
    assert [str(p) for p in app.problems] == ['options/colours.json: option #1 needs both "value" and "label"']


def test_a_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    app = load_app(tmp_path / "nothing-here")
    assert [p.message for p in app.problems] == ["is not a folder"]
