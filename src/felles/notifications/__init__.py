"""Altinn Varsling: notification orders with reminders, address lookup in KRR and Enhetsregisteret, and
delivery by e-mail (SMTP) and SMS (a provider plugin)."""
