"""The apps component's table: every deployed version of every app, its folder kept as a zip archive.

Versions never change once deployed, so a process may cache what it unpacked from one for as long as it runs;
an instance names the version it was started on. The archive lives in the database (an app folder is small:
layouts, texts, models, policy), so that a deployment, its Storage metadata and its policy commit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, UTCDateTime


class AppVersion(Base):
    __tablename__ = "app_versions"

    app_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "org/app"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(100))
