"""ID-porten, TestID, Ansattporten, Maskinporten and self-service (selvbetjening)."""

# The job handlers (back-channel logout, purges) register when these modules are imported; a worker process
# imports only the tables, so the package imports them here.
from felles.identity import selfservice as _selfservice  # noqa: F401
from felles.identity import service_tokens as _service_tokens  # noqa: F401
