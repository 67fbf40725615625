"""JSON Patch (RFC 6902) as form data is patched: the RFC's own examples, errors named by kind (a failing `test`
apart from the rest), and properties: a failing patch changes nothing, and `test` passes right after `add`."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from felles.apps.jsonpatch import PatchFailed, PatchTestFailed, apply_patch, json_equal, parse_pointer

RFC_EXAMPLES = [  # RFC 6902 appendix A (document, patch, result)
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}], {"foo": ["bar", ["abc", "def"]]}),
    ({"foo": None}, [{"op": "add", "path": "/foo", "value": 1}], {"foo": 1}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"a": 1}, [{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1}),
]


@pytest.mark.parametrize(("document", "patch", "result"), RFC_EXAMPLES)
def test_the_rfcs_examples(document, patch, result) -> None:
    assert apply_patch(document, patch) == result


@pytest.mark.parametrize(("document", "patch", "failure"), [
    ({"baz": "qux", "foo": ["a", 2, "c"]}, [{"op": "test", "path": "/baz", "value": "qux"},
                                            {"op": "test", "path": "/foo/1", "value": "2"}], PatchTestFailed),
    ({"foo": "bar"}, [{"op": "test", "path": "/missing", "value": None}], PatchTestFailed),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], PatchFailed),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/5", "value": 2}], PatchFailed),
    ({"foo": [1]}, [{"op": "remove", "path": "/foo/01"}], PatchFailed),
    ({"foo": {}}, [{"op": "move", "from": "/foo", "path": "/foo/bar"}], PatchFailed),
    ({}, [{"op": "invent", "path": "/a"}], PatchFailed),
    ({}, [{"op": "replace", "path": "/a", "value": 1}], PatchFailed),
    ({}, [{"op": "add", "path": "/a"}], PatchFailed),
    ({}, {"not": "a patch"}, PatchFailed),
])
def test_failures_are_named(document, patch, failure) -> None:
    with pytest.raises(failure):
        apply_patch(document, patch)


def test_json_equality_is_by_value_and_kind() -> None:
    assert json_equal(1, 1.0) and json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal(True, 1) and not json_equal(None, "") and not json_equal([1, 2], [2, 1])
    assert parse_pointer("/a~1b/c~0d") == ["a/b", "c~d"] and parse_pointer("") == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children,
                                                                                       max_size=3), max_leaves=10)
KEYS = st.text(alphabet="ab/~", min_size=1, max_size=3)


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


@given(document=st.dictionaries(KEYS, JSON, max_size=4), key=KEYS, value=JSON)
def test_test_passes_after_add_and_the_original_is_untouched(document, key, value) -> None:
    before = copy.deepcopy(document)
    patched = apply_patch(document, [{"op": "add", "path": _pointer(key), "value": value},
                                     {"op": "test", "path": _pointer(key), "value": value}])
    assert json_equal(patched[key], value) and document == before


@given(document=st.dictionaries(KEYS, JSON, max_size=4), key=KEYS, value=JSON)
def test_a_failing_patch_changes_nothing(document, key, value) -> None:
    before = copy.deepcopy(document)
    with pytest.raises(PatchFailed):
        apply_patch(document, [{"op": "add", "path": _pointer(key), "value": value},
                               {"op": "remove", "path": "/no such key at all/x"}])
    assert document == before
