"""Altinn Events: CloudEvents published by agencies and components, delivered to subscribers' webhooks."""
