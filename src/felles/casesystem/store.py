"""The case system's own records (its "sak/arkiv"): one case per submitted instance, in a SQLite file of its own,
so a restarted case system knows what it has imported, decided and answered. The platform's database is never
touched."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class CaseState(StrEnum):
    IMPORTED = "imported"        # downloaded, the receipt confirmed to the platform (complete)
    WITH_CASE_WORKER = "with_case_worker"
    DECIDED = "decided"
    ANSWERED = "answered"        # the decision letter sent as a correspondence (and the case archived)


@dataclass
class Case:
    instance_id: str  # {partyId}/{guid}
    app_id: str
    kind: str  # leave, kindergarten
    child_id: str
    child_name: str
    applicant_id: str
    applicant_name: str
    details: dict[str, Any]
    received_at: str
    state: CaseState = CaseState.IMPORTED
    outcome: str | None = None
    reasons: list[str] = field(default_factory=list)
    decided_by: str | None = None
    correspondence_id: str | None = None
    archive_message_id: str | None = None  # the arkivmelding's next-move message
    number: int = 0  # the case number, given when stored

    @property
    def reference(self) -> str:
        return f"{self.received_at[:4]}/{self.number:05d}"


class CaseStore:
    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS cases (number INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "instance_id TEXT UNIQUE NOT NULL, body TEXT NOT NULL)")
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def add(self, case: Case) -> Case | None:
        """Store a new case and give it its number; None when the instance already has one (a repeated event)."""
        with self._lock:
            try:
                cursor = self._db.execute("INSERT INTO cases (instance_id, body) VALUES (?, ?)",
                                          (case.instance_id, "{}"))
            except sqlite3.IntegrityError:
                return None
            case.number = int(cursor.lastrowid or 0)
            self._db.execute("UPDATE cases SET body = ? WHERE number = ?", (json.dumps(asdict(case)), case.number))
            self._db.commit()
        return case

    def save(self, case: Case) -> None:
        with self._lock:
            self._db.execute("UPDATE cases SET body = ? WHERE number = ?", (json.dumps(asdict(case)), case.number))
            self._db.commit()

    def get(self, number: int) -> Case | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM cases WHERE number = ?", (number,)).fetchone()
        return _case(row[0]) if row else None

    def by_instance(self, instance_id: str) -> Case | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM cases WHERE instance_id = ?", (instance_id,)).fetchone()
        return _case(row[0]) if row else None

    def all(self) -> list[Case]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM cases ORDER BY number DESC").fetchall()
        return [_case(row[0]) for row in rows]


def _case(body: str) -> Case:
    values = json.loads(body)
    values["state"] = CaseState(values["state"])
    return Case(**values)
