"""Loaded into `felles serve` (FELLES_PLUGIN_MODULES) by the supervisor tests, never imported by them: every
process that builds the app, and so loads its plugins, writes its process id to `app-builds.txt` in the data
folder."""

from __future__ import annotations

import os

from felles.core.config import get_settings

with (get_settings().data_dir / "app-builds.txt").open("a") as builds:
    builds.write(f"{os.getpid()}\n")
