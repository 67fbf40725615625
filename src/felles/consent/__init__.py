"""Samtykke: Altinn's consent. A data consumer asks a person for consent to fetch data about them from consent
resources; the person accepts or rejects it in the portal and may revoke it later; Maskinporten puts an accepted
consent in the consumer's access token."""
