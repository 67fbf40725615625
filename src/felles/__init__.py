"""Felles: Norway's digital-government platform as one Python code base."""

__version__ = "0.1.0"
