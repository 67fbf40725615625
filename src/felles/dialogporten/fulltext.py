"""Free-text search over dialogs, in the database's own full-text engine: PostgreSQL's `tsvector` with a GIN index
on `to_tsvector('simple', search_text)`, and on SQLite an FTS5 table beside the dialogs.

Both index the dialog's `search_text` column (every localized title, summary, sender name and status text, and the
search tags; `service.search_text` writes it). The PostgreSQL index is an expression index, so it is in step with
every write by construction. The SQLite FTS5 table is kept in step by triggers on the dialogs table, so every
writer of dialogs (the service functions, the mirrors of instances and correspondences, bulk seeding) keeps it
current without calling anything.

A search is the words of the text (letters and digits), each matched as a word prefix, all of them required:
`skatt 2025` finds "Skattemelding for 2025", `melding` does not. The `simple` configuration and FTS5's
`unicode61` tokenizer without diacritic folding (migration 0030 makes both) only lower-case, so æ, ø and å stay
letters of their own on both databases. Neither structure is a SQLAlchemy table: `UNMODELLED` lists their names
for the models-match-migrations check."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sqlalchemy import BindParameter, Boolean, ColumnElement, Dialect, String, TypeDecorator, bindparam, false
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

FTS_TABLE = "dialogporten_dialogs_fts"
GIN_INDEX = "ix_dialogporten_dialogs_search_text_fts"
# FTS5 keeps its index in shadow tables named after the virtual table.
UNMODELLED = (FTS_TABLE, *(f"{FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")),
              GIN_INDEX)

_WORD = re.compile(r"[^\W_]+")

def words(text: str) -> list[str]:
    """The words a search text is made of, lower-cased; punctuation and underscores separate them."""
    return _WORD.findall(text.lower())


class _Query(TypeDecorator[list[str]]):
    """A search's words, bound as the database's own query syntax: `a:* & b:*` (tsquery) or
    `text : ("a" * AND "b" *)` (FTS5, naming the text column)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return " & ".join(f"{word}:*" for word in value)
        return "text : (" + " AND ".join(f'"{word}" *' for word in value) + ")"


class TextMatch(ColumnElement[bool]):
    """True for the dialogs whose `search_text` has every one of the words as a word prefix; compiled to the
    database's own full-text match (see the module docstring)."""

    inherit_cache = True
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("query", InternalTraversal.dp_clauseelement)]
    type = Boolean()

    def __init__(self, query: BindParameter[list[str]]) -> None:
        self.query = query


class RowTextMatch(TextMatch):
    """The same match, checked on each row another condition has found (PostgreSQL: not through the GIN index)."""

    inherit_cache = True


def matches(text: str, *, through_index: bool = True) -> ColumnElement[bool]:
    """The condition for a free-text search; a text without a single word matches nothing.

    `through_index=False` is for a search already narrowed to a small set of rows (an end user's parties): on
    PostgreSQL the words are then checked on those rows, where a common word's bitmap over the whole GIN index
    (a tenth of a million-dialog table for `skatt`) would cost far more than the rows themselves."""
    found = words(text)
    if not found:
        return false()
    query = bindparam(None, found, type_=_Query())
    return TextMatch(query) if through_index else RowTextMatch(query)


@compiles(TextMatch, "postgresql")
def _postgresql(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    # The regconfig is a literal so that the planner sees the indexed expression; coalescing the (never null)
    # text makes another expression, which the index does not serve.
    text = ("coalesce(dialogporten_dialogs.search_text, '')" if isinstance(element, RowTextMatch)
            else "dialogporten_dialogs.search_text")
    return (f"to_tsvector('simple'::regconfig, {text}) @@ "
            f"to_tsquery('simple'::regconfig, {compiler.process(element.query, **kw)})")


@compiles(TextMatch)
def _sqlite(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    # Only constant names and the bound parameter's placeholder go into the text.
    return (f"dialogporten_dialogs.id IN (SELECT dialog_id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH "  # noqa: S608
            f"{compiler.process(element.query, **kw)})")
