"""Seed 003's journey: Skedsmo kommune's demo data and `felles demo journey`."""
