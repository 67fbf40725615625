"""Altinn 3 app definitions: loading app folders, the expression language, layouts, validation and form data."""
