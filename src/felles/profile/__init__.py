"""Profil: Altinn Profile. A person's settings (language, the party chosen in advance, whether sub-units, deleted
units and client units are shown), favourite parties, notification addresses per party with address verification
by code, and the saved searches of the inbox (Arbeidsflate's own back end keeps those)."""
