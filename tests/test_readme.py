"""The README tells a newcomer the truth: the personas it lists are the ones `make run` seeds."""

from __future__ import annotations

import re
from pathlib import Path

from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_lists_each_seeded_persona_with_its_number() -> None:
    listed = dict(re.findall(r"^\| ([A-ZÆØÅ][\w ]+?) \| (\d{11}) \|", README, flags=re.MULTILINE))
    assert listed == {f"{persona.given} {persona.family}": persona.identifier for persona in DEMO_PERSONS}


def test_the_readme_names_the_demo_organisations_by_their_numbers() -> None:
    assert f"Fjordkraft Demo AS ({DEMO_COMPANY})" in README
    assert f"Regnskap Demo AS ({DEMO_ACCOUNTING_FIRM})" in README
