"""Formidlingstjenesten (Altinn Broker): large files between organisations, resumable, in constant memory."""
