"""Altinn Storage: applications, instances, data elements (their bytes in core's blob store), instance events and
process history, at Altinn's paths (`/storage/api/v1`)."""
