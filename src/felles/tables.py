"""Every component's tables on one metadata, for migrations and the models-match-migrations check."""

from felles.apps import models as apps_models
from felles.authorization import models as authorization_models
from felles.broker import models as broker_models
from felles.consent import models as consent_models
from felles.core import audit, cache_invalidation, jobs, revocations, usage
from felles.core.db import Base
from felles.correspondence import letters_models
from felles.correspondence import models as correspondence_models
from felles.dialogporten import models as dialogporten_models
from felles.events import models as events_models
from felles.identity import models as identity_models
from felles.notifications import models as notifications_models
from felles.operations import models as operations_models
from felles.profile import models as profile_models
from felles.registers import models as registers_models
from felles.storage import models as storage_models

metadata = Base.metadata
__all__ = [
    "apps_models", "audit", "authorization_models", "broker_models", "cache_invalidation", "consent_models",
    "correspondence_models", "dialogporten_models", "events_models", "identity_models", "jobs", "letters_models",
    "metadata", "notifications_models", "operations_models", "profile_models", "registers_models", "revocations",
    "storage_models", "usage",
]
