from __future__ import annotations

import pytest

from felles.apps.lenient_json import JsonFileError, load_json_file, parse_lenient_json


def test_bom_comments_and_trailing_commas_are_accepted_as_altinn_does() -> None:
    text = '\ufeff{\n  // a comment\n  "a": [1, 2,], /* block\n comment */ "b": "x // not a comment",\n}'
    assert parse_lenient_json(text) == {"a": [1, 2], "b": "x // not a comment"}


def test_a_comma_inside_a_string_before_a_bracket_is_kept() -> None:
    assert parse_lenient_json('{"a": ",]"}') == {"a": ",]"}


@pytest.mark.parametrize(
    ("text", "line", "column", "problem"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "Expecting ',' delimiter"),
        ('{\n  "a": 1,\n  "a": 2\n}', 3, 3, 'duplicate key "a"'),
        ("{\n  /* never closed\n}", 2, 3, "comment opened with /* is never closed"),
    ],
)
def test_malformed_json_names_file_line_and_problem(text: str, line: int, column: int, problem: str) -> None:
    with pytest.raises(JsonFileError) as raised:
        parse_lenient_json(text, "ui/form/layouts/Side1.json")
    assert (raised.value.line, raised.value.column, raised.value.problem) == (line, column, problem)
    assert str(raised.value).startswith(f"ui/form/layouts/Side1.json:{line}:{column}: ")


def test_a_file_that_is_not_utf8_is_reported_with_its_line(tmp_path) -> None:
    path = tmp_path / "resource.nb.json"
    path.write_bytes(b'{\n"a": "\xff"\n}')
    with pytest.raises(JsonFileError, match=r"resource.nb.json:2:7: file is not valid UTF-8"):
        load_json_file(path, "resource.nb.json")
