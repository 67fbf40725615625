"""The form pages people fill in: an app's layouts rendered on the server (Jinja2 + htmx, Designsystemet)."""
