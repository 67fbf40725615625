"""Every component's tables on one metadata, for migrations and the models-match-migrations check."""

from felles.core import audit, jobs
from felles.core.db import Base
from felles.registers import models as registers_models

metadata = Base.metadata
__all__ = ["audit", "jobs", "metadata", "registers_models"]
