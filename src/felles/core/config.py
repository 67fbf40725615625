"""One typed settings class, read from `FELLES_*` environment variables.

Secrets (signing keys, the paging-token key) are generated into the data folder in development and refused
as implicit defaults in production, where they must be provided explicitly.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, FilePath, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BlobStoreKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class VirusScannerKind(StrEnum):
    NONE = "none"
    CLAMD = "clamd"


class Settings(BaseSettings):
    # populate_by_name: the settings with an environment alias (an older name) still take their field name.
    model_config = SettingsConfigDict(env_prefix="FELLES_", extra="ignore", populate_by_name=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    database_url: str = ""
    base_url: str = "http://localhost:8000"
    secret_key: str = ""
    # The JWK (JSON) the platform signs tokens with; generated into the data folder in development.
    signing_key_file: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True
    # Where the in-process worker polls for due jobs when nothing wakes it earlier.
    worker_poll_seconds: float = 0.5
    audit_retention_days: int = Field(default=365, ge=1)
    # Extra modules imported at start-up so that they can register job handlers (plugins).
    plugin_modules: list[str] = Field(default_factory=list)
    # A build of Altinn's app-frontend-react (the folder with altinn-app-frontend.js and .css, see
    # docs/app-frontend.md): when set, apps' pages at /{org}/{app}/ are Altinn's frontend instead of Felles's forms.
    app_frontend_dir: Path | None = None
    # Outbound HTTP (`felles.core.outbound`): webhooks, condition endpoints, the SMS gateway and back-channel
    # logout. Addresses that API consumers give us may only reach these hosts ("example.no" exactly,
    # ".example.no" for its subdomains); loopback only in development and tests. The FELLES_WEBHOOK_* names of
    # these settings still work.
    outbound_allowed_hosts: list[str] = Field(default_factory=list, validation_alias=AliasChoices(
        "FELLES_OUTBOUND_ALLOWED_HOSTS", "FELLES_WEBHOOK_ALLOWED_HOSTS"))
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias=AliasChoices(
        "FELLES_OUTBOUND_TIMEOUT_SECONDS", "FELLES_WEBHOOK_TIMEOUT_SECONDS"))
    # Keep-alive connections a process keeps for repeated outbound calls (all endpoints together).
    outbound_max_connections: int = Field(default=64, ge=1, le=1000, validation_alias=AliasChoices(
        "FELLES_OUTBOUND_MAX_CONNECTIONS", "FELLES_WEBHOOK_MAX_CONNECTIONS"))
    # Webhook calls one fan-out job makes at the same time (an event with many matching subscriptions).
    webhook_fan_out_parallel: int = Field(default=16, ge=1, le=256)
    # The e-mail provider plugin by name: "outbox" (kept in the database and shown at
    # /notifications/email-outbox; the default in development) or "smtp" (the default in test and production,
    # where the outbox is refused).
    email_provider: str = ""
    # Where files are kept (`felles.core.blobs`): a folder under the data folder, or an S3-compatible store.
    blob_store: BlobStoreKind = BlobStoreKind.LOCAL
    s3_endpoint: str = ""  # e.g. https://s3.example.no; empty: AWS
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # The virus scan of uploaded files (`felles.core.virusscan`): ClamAV's clamd, at a unix socket path or
    # host:port, or none.
    virus_scanner: VirusScannerKind = VirusScannerKind.NONE
    clamd_address: str = "/var/run/clamav/clamd.ctl"
    clamd_timeout_seconds: float = Field(default=120.0, gt=0)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "ikke-svar@felles.localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Parallel SMTP connections of one send batch.
    smtp_connections: int = Field(default=4, ge=1, le=64)
    # Idle SMTP sessions a process keeps for the next batch, and how long one may idle before it is not reused.
    smtp_pool_size: int = Field(default=16, ge=0, le=256)
    smtp_idle_seconds: float = Field(default=30.0, ge=0)
    # The SMS provider plugin by name: "outbox" (development: shown at /notifications/sms-outbox) or "http".
    sms_provider: str = "outbox"
    sms_gateway_url: str = ""
    sms_gateway_token: str | None = None
    sms_sender: str = "Altinn"
    # Shared secrets that delivery reports must carry (header X-Delivery-Report-Secret): the MTA piping DSNs for
    # e-mail, the SMS gateway's DLR callback for SMS. Unset, that channel's report endpoint refuses every report.
    email_delivery_report_secret: str | None = None
    sms_delivery_report_secret: str | None = None
    # Per-channel send rate of one process (messages per second; 0 means unlimited).
    email_rate_per_second: float = Field(default=1000.0, ge=0)
    sms_rate_per_second: float = Field(default=50.0, ge=0)
    # Digital post to citizens (`felles.correspondence.digitalpost`): the mailbox-provider plugin by name that
    # delivers letters to the Digipost or e-Boks mailbox KRR names ("development": a page per person at
    # /digitalpost/postkasse), and the print-provider plugin that prints paper letters ("outbox": PDF files
    # under the data folder's print-outbox, listed at /print/outbox).
    mailbox_provider: str = "development"
    print_provider: str = "outbox"
    identity_trust_anchors: FilePath | None = Field(
        default=None,
        description=(
            "A PEM bundle of the CA certificates that Maskinporten grants and client assertions signed with a "
            "virksomhetssertifikat (an `x5c` chain instead of a registered `kid`) must chain to: Buypass and "
            "Commfides in production, a test CA in tests. Unset, no `x5c` is accepted. "
            "Environment variable FELLES_IDENTITY_TRUST_ANCHORS."
        ),
    )

    @model_validator(mode="after")
    def _fill_and_refuse_unsafe_defaults(self) -> Settings:
        if self.blob_store is BlobStoreKind.S3 and not self.s3_bucket:
            raise ValueError("FELLES_BLOB_STORE=s3 needs FELLES_S3_BUCKET")
        if self.environment is Environment.PRODUCTION:
            missing = [name for name in ("database_url", "secret_key") if not getattr(self, name)]
            if missing:
                raise ValueError(
                    "production mode refuses generated defaults; set " + ", ".join(
                        f"FELLES_{name.upper()}" for name in missing
                    )
                )
            if self.database_url.startswith("sqlite"):
                raise ValueError("production mode needs PostgreSQL in FELLES_DATABASE_URL")
            if self.email_provider == "outbox":
                raise ValueError("production mode sends e-mail: FELLES_EMAIL_PROVIDER=outbox keeps it in the database")
            self.email_provider = self.email_provider or "smtp"
            return self
        if not self.email_provider:
            self.email_provider = "outbox" if self.environment is Environment.DEVELOPMENT else "smtp"
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'felles.db'}"
        if not self.secret_key:
            self.secret_key = _development_secret(self.data_dir)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


def _development_secret(data_dir: Path) -> str:
    """A secret kept in the data folder, so that tokens survive a restart on one laptop."""
    path = data_dir / "secret_key"
    if not path.exists():
        create_private_once(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_private_once(path: Path, content: str) -> None:
    """Write a file only its owner reads, unless it exists already: the server processes of `felles serve
    --workers N` start on a fresh data folder at once, and all must use the one secret or key written first. The
    file appears whole (linked from a written temporary file) or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.touch(mode=0o600)
    temporary.write_text(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process was first: its file is the one
    finally:
        temporary.unlink()


@lru_cache
def get_settings() -> Settings:
    return Settings()
