"""Arbeidsflate: the inbox. This part is its own back end: the GraphQL endpoint for the person's profile,
favourites, saved searches and notification addresses (Dialogporten's dialogs are Dialogporten's)."""
