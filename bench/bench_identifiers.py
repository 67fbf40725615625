"""Per-call cost of the identifier validators and generators.

Run: .venv/bin/python bench/bench_identifiers.py

The numbers that matter are is_valid_person_identifier (run over whole registers) and
make_person_identifier (5.5 million calls when seeding the national population). Each line shows the
best of several runs, because the machine is shared and the mean mostly measures the neighbours.
"""

from __future__ import annotations

import timeit
from datetime import date

from felles.registers.identifiers import (
    is_valid_organization_number,
    is_valid_person_identifier,
    make_organization_number,
    make_person_identifier,
    parse_organization_number,
    parse_person_identifier,
)

CASES = [
    ("is_valid_person_identifier(valid)", lambda: is_valid_person_identifier("47906701517")),
    ("is_valid_person_identifier(bad k1)", lambda: is_valid_person_identifier("47906701557")),
    ("is_valid_person_identifier(bad length)", lambda: is_valid_person_identifier("4790670151")),
    ("parse_person_identifier(valid)", lambda: parse_person_identifier("47906701517")),
    ("make_person_identifier(synthetic)", lambda: make_person_identifier(date(1990, 5, 17), 123)),
    (
        "make_person_identifier(real, d)",
        lambda: make_person_identifier(date(1990, 5, 17), 123, synthetic=False, d_number=True),
    ),
    ("is_valid_organization_number(valid)", lambda: is_valid_organization_number("991825827")),
    ("parse_organization_number(valid)", lambda: parse_organization_number("991825827")),
    ("make_organization_number", lambda: make_organization_number(99182582)),
]


def main() -> None:
    number = 200_000
    # The lambda call itself is part of every measurement, so measure it and subtract it.
    baseline = min(timeit.repeat(lambda: None, number=number, repeat=7)) / number
    for name, case in CASES:
        best = min(timeit.repeat(case, number=number, repeat=7)) / number
        print(f"{(best - baseline) * 1e9:8.0f} ns  {name}")
    day = date(1970, 1, 1)
    seeded = 0
    elapsed = -timeit.default_timer()
    for offset in range(20_000):
        born = date.fromordinal(day.toordinal() + offset % 10_000)  # 1970–1997: 000–499 fit
        for individual_number in range(0, 500, 25):
            if make_person_identifier(born, individual_number) is not None:
                seeded += 1
    elapsed += timeit.default_timer()
    per_call = elapsed / 400_000
    print(
        f"{per_call * 1e9:8.0f} ns  make_person_identifier in a seeding loop ({seeded} numbers); "
        f"5.5 million calls ≈ {per_call * 5.5e6:.1f} s"
    )


if __name__ == "__main__":
    main()
