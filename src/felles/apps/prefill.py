"""Prefill from configuration (`<dataType>.prefill.json`), as Altinn apps do it at instantiation.

A prefill file maps source fields to data-model paths, per source: `ER` (Enhetsregisteret, for the organisation
the instance is for), `DSF` (Folkeregisteret, for the person it is for) and `UserProfile` (the logged-in user).
A source that does not apply (ER for a person) is skipped, as Altinn Studio v9 does, rather than failing the
instantiation. Without `allowOverwrite`, a field that already has a value keeps it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import structlog

from felles.apps.datapath import parse_path

log = structlog.get_logger("felles.apps.prefill")

SOURCES = ("ER", "DSF", "UserProfile")


def sources_named(*configs: dict[str, Any] | None) -> frozenset[str]:
    """The sources the prefill configurations take values from (each a register lookup, audited: asked only
    when a configuration maps a field of it)."""
    return frozenset(source for config in configs if config for source in SOURCES
                     if isinstance(config.get(source), dict) and config[source])


def takes_contact_details(*configs: dict[str, Any] | None) -> bool:
    """Whether a configuration maps the person's mobile number from Folkeregisteret's source (`MobileNumber`,
    which Altinn's Person has from KRR, a lookup of its own)."""
    return any(isinstance(config.get("DSF"), dict) and "MobileNumber" in config["DSF"]
               for config in configs if config)


@dataclass(frozen=True)
class PrefillSources:
    """The source fields by their prefill names (`OrgNumber`, `SSN`, `Party.Person.Name` …); None where the
    source does not apply to this instance."""
    er: dict[str, Any] | None = None
    dsf: dict[str, Any] | None = None
    user_profile: dict[str, Any] | None = None

    def of(self, source: str) -> dict[str, Any] | None:
        return {"ER": self.er, "DSF": self.dsf, "UserProfile": self.user_profile}[source]


def apply_prefill(data: dict[str, Any], config: dict[str, Any], sources: PrefillSources,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The form data with the configured fields filled in (a new document; `data` is left as it was).
    `extra` maps data-model paths to values given at instantiation (the simplified API's `prefill`)."""
    filled = copy.deepcopy(data)
    overwrite = bool(config.get("allowOverwrite", False))
    for source in SOURCES:
        mapping = config.get(source) or {}
        if not isinstance(mapping, dict) or not mapping:
            continue
        values = sources.of(source)
        if values is None:
            # As app-lib: Enhetsregisteret's fields are left empty for a person, Folkeregisteret's for an
            # organisation (an app for both names both); not a fault, yet worth seeing when prefill surprises.
            log.debug("prefill_source_not_available", source=source)
            continue
        for source_field, target in mapping.items():
            if source_field in values and isinstance(target, str):
                _set(filled, target, values[source_field], overwrite=overwrite)
    for target, value in (extra or {}).items():
        _set(filled, target, value, overwrite=True)
    return filled


def _set(data: dict[str, Any], path: str, value: Any, *, overwrite: bool) -> None:
    """Set `value` at a dotted path, making the objects (and list rows) on the way."""
    parts = parse_path(path)
    current: Any = data
    for position, (name, index) in enumerate(parts):
        last = position == len(parts) - 1
        if index is None:
            if last:
                if overwrite or current.get(name) in (None, ""):
                    current[name] = value
                return
            child = current.get(name)
            if child is None:
                child = current[name] = {}
            if not isinstance(child, dict):
                return  # the path runs through a value, not an object: nothing to fill
            current = child
            continue
        rows = current.setdefault(name, [])
        if not isinstance(rows, list):
            return
        while len(rows) <= index:
            rows.append({} if not last else None)
        if last:
            if overwrite or rows[index] in (None, ""):
                rows[index] = value
            return
        if not isinstance(rows[index], dict):
            rows[index] = {}
        current = rows[index]
