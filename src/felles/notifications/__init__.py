"""Altinn Varsling: notification orders with reminders, address lookup in KRR and Enhetsregisteret, and
delivery by e-mail (SMTP) and SMS (a provider plugin)."""

# The job handlers (processing and sending orders) register when their module is imported; a worker process
# imports only the tables, so the package imports it here.
from felles.notifications import service_delivery as _service_delivery  # noqa: F401
