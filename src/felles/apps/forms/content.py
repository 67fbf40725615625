"""Components that show something or act: headings, texts, panels, images, links, read-only values, and the
buttons (navigation, process actions, printing)."""

from __future__ import annotations

from typing import Any

from felles.apps.display import display_value
from felles.apps.expressions.errors import ExpressionError
from felles.apps.forms.component_base import ComponentBase
from felles.apps.forms.views import HEADING_LEVELS, View, markdown
from felles.apps.layout import Node


class ContentComponents(ComponentBase):
    """Builders of Header/Heading, Paragraph, Panel/Alert, Image, Link, Divider, Text/Number/Date,
    NavigationButtons, NavigationBar and the buttons."""

    def _heading(self, node: Node) -> View:
        view = self._base(node, "heading")
        size = node.component.definition.get("size") if node.component else None
        level = node.component.definition.get("level") if node.component else None
        view.props["level"] = level if isinstance(level, int) and 1 < level < 7 else HEADING_LEVELS.get(str(size), 2)
        return view

    def _paragraph(self, node: Node) -> View:
        view = self._base(node, "paragraph")
        view.props["body"] = markdown(self.text(node, "title"))
        return view

    def _panel(self, node: Node) -> View:
        view = self._base(node, "panel")
        definition = node.component.definition if node.component else {}
        colour = str(definition.get("severity") or definition.get("variant") or "info")
        view.props["colour"] = {"error": "danger", "warning": "warning", "success": "success"}.get(colour, "info")
        view.props["body"] = markdown(self.text(node, "body"))
        return view

    def _simple(self, node: Node) -> View:
        return self._base(node, node.component.type.lower() if node.component else "placeholder")

    def _image(self, node: Node) -> View:
        view = self._base(node, "image")
        image = node.component.definition.get("image") if node.component else None
        sources = image.get("src") if isinstance(image, dict) else None
        source = None
        if isinstance(sources, dict):
            source = sources.get(self.form.context.language) or sources.get("nb") or next(iter(sources.values()), None)
        view.props["src"] = source if isinstance(source, str) and _is_local_or_relative(source) else None
        view.props["alt"] = self.text(node, "altTextImg") or ""
        width = image.get("width") if isinstance(image, dict) else None
        view.props["width"] = width if isinstance(width, str) else None
        return view

    def _link(self, node: Node) -> View:
        view = self._base(node, "link")
        target = self.text(node, "target") or self.text(node, "download")
        view.props["href"] = target if target and _is_safe_href(target) else None
        view.props["button"] = (node.component.definition.get("style") if node.component else None) in (
            "primary", "secondary")
        return view

    def _display(self, node: Node) -> View:
        view = self._base(node, "display")
        try:
            view.value = display_value(self.form, node) or ""
        except ExpressionError:
            view.value = ""
        return view

    def _navigation_buttons(self, node: Node) -> View:
        view = self._base(node, "navigation")
        position = self.pages.index(self.page) if self.page in self.pages else -1
        definition = node.component.definition if node.component else {}
        view.props["previous"] = (
            self.pages[position - 1] if position > 0 and definition.get("showBackButton", True) is not False else None)
        view.props["next"] = self.pages[position + 1] if 0 <= position < len(self.pages) - 1 else None
        view.props["next_label"] = self.text(node, "next")
        view.props["back_label"] = self.text(node, "back")
        return view

    def _navigation_bar(self, node: Node) -> View:
        view = self._base(node, "navbar")
        view.props["pages"] = [(page, self.resource(None, page), page == self.page) for page in self.pages]
        return view

    def _button(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "button")
        definition = component.definition
        kind = component.type
        if kind == "PrintButton":
            view.props["action"] = None
            view.props["print"] = True
        elif kind == "InstantiationButton":
            view.props["action"] = "instantiate"
        elif kind == "ActionButton":
            view.props["action"] = f"process:{definition.get('action') or 'next'}"
        elif kind == "CustomButton":
            view.props["action"] = _custom_action(definition.get("actions"))
        elif definition.get("mode") == "go-to-task" and isinstance(definition.get("taskId"), str):
            view.props["action"] = "process:next"
        elif definition.get("mode") in ("save",):
            view.props["action"] = "save"
        else:
            view.props["action"] = "submit"  # a Button submits the task (app-frontend's default)
        view.props["secondary"] = definition.get("buttonStyle") == "secondary"
        if not view.label:
            fallback = {"PrintButton": "forms.print", "InstantiationButton": "forms.start_new"}.get(kind)
            if view.props["action"] == "subform-done":
                fallback = "forms.subform.done"
            view.props["label_key"] = fallback or "forms.submit"
        return view


def _custom_action(actions: Any) -> str | None:
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict):
            continue
        if action.get("id") == "navigateToPage" and isinstance((action.get("metadata") or {}).get("page"), str):
            return "page:" + action["metadata"]["page"]
        if action.get("id") == "closeSubform":  # back to the task's page the subform was opened from
            return "subform-done"
        if action.get("id") in ("nextPage", "previousPage"):
            return "next" if action["id"] == "nextPage" else "previous"
        if action.get("type") == "ServerAction" and isinstance(action.get("id"), str):
            return "server:" + action["id"]
    return None


def _is_local_or_relative(source: str) -> bool:
    # The page's Content-Security-Policy loads nothing from other hosts: an image elsewhere would not show.
    return not source.startswith(("//", "http:", "https:", "data:", "javascript:"))


def _is_safe_href(href: str) -> bool:
    return href.startswith(("https://", "http://", "/", "mailto:", "tel:")) and not href.startswith("//")
