"""Altinn's expression language: casting, dates, the function catalogue, compiling and evaluating."""
