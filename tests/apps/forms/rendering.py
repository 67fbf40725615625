"""Rendering layouts the way the form pages do, for tests that look at the HTML a page would get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.forms.component_base import form_state
from felles.apps.forms.render import PageRenderer
from felles.apps.forms.views import Message, View
from felles.apps.layout import LayoutSet
from felles.core.i18n import translate
from felles.portal.shell import templates

_VIEWS = templates.env.from_string(
    '{% import "forms/components.html" as c with context %}{% for v in views %}{{ c.render(v) }}{% endfor %}')


def app_of(layouts: dict[str, Any], texts: dict[str, dict[str, Any]] | None = None,
           options: dict[str, list[dict[str, Any]]] | None = None, order: list[str] | None = None) -> AppDefinition:
    """An app with one layout set (data type ``model``) made of ``layouts`` (page name -> layout file)."""
    settings = {"pages": {"order": order or list(layouts)}}
    layout_set = LayoutSetDefinition("form", "model", ["Task_1"], Path("."), settings, layouts, {},
                                     LayoutSet.from_layouts(layouts))
    app = AppDefinition(Path("."), metadata={"id": "ttd/test", "dataTypes": []},
                        layout_sets={"form": layout_set}, texts={"nb": texts or {}}, options=options or {})
    return app


def page(components: list[dict[str, Any]], name: str = "side1") -> dict[str, Any]:
    return {name: {"data": {"layout": components}}}


def render(app: AppDefinition, data: dict[str, Any], page_name: str | None = None, *, language: str = "nb",
           messages: dict[str, list[Message]] | None = None,
           data_elements: list[dict[str, Any]] | None = None,
           editing: frozenset[str] = frozenset(),
           open_tabs: dict[str, str] | None = None) -> tuple[list[View], str]:
    layout_set = next(iter(app.layout_sets.values()))
    form = form_state(app, layout_set, {layout_set.data_type or "model": data}, language,
                      data_elements=data_elements or [])
    page_name = page_name or layout_set.page_order[0]
    renderer = PageRenderer(app, layout_set, form, page_name, messages=messages, editing=editing,
                            open_tabs=open_tabs)
    views = renderer.views()
    html = _VIEWS.render(views=views, t=lambda key, **params: translate(key, language, **params), urls=None,
                         editable=True)
    return views, html
