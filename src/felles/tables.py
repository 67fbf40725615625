"""Every component's tables on one metadata, for migrations and the models-match-migrations check."""

from felles.core import audit, jobs
from felles.core.db import Base
from felles.identity import models as identity_models
from felles.registers import models as registers_models

metadata = Base.metadata
__all__ = ["audit", "identity_models", "jobs", "metadata", "registers_models"]
