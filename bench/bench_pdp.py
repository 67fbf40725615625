"""In-process XACML decisions per second for a typical Altinn app policy, against Cedar (cedarpy) on the same
policy translated rule for rule, in the same run.

    .venv/bin/python bench/bench_pdp.py [--seconds 3]

Prints decisions/s, p50/p95/p99 latency and peak memory (tracemalloc) for the Felles engine, and the same for
cedarpy with the ratio. The policy is Altinn's own ``skd_taxreport_policy.xml`` (6 rules, deny-overrides, an
authentication-level obligation); the request is a DAGL reading the app in task "formfilling".
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from felles.authorization.xacml import Decision, PolicyDecisionPoint, PolicyStore, request_from_json
from felles.authorization.xacml.expressions import Designator
from felles.authorization.xacml.policies import Policy

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "altinn-authorization" / "pdp" / "apps"
POLICY_FILE = REFERENCE / "skd_taxreport_policy.xml"

REQUEST: dict[str, Any] = {"Request": {
    "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:userid", "Value": "1337"},
                                     {"AttributeId": "urn:altinn:rolecode", "Value": ["dagl", "utinn"]}]}],
    "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read"}]}],
    "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:org", "Value": "skd"},
                                {"AttributeId": "urn:altinn:app", "Value": "taxreport"},
                                {"AttributeId": "urn:altinn:task", "Value": "formfilling"},
                                {"AttributeId": "urn:altinn:partyid", "Value": "500000"}]}],
}}


def measure(decide: Callable[[], Any], seconds: float) -> dict[str, float]:
    """Decisions/s over ``seconds`` and per-call latency percentiles (µs)."""
    for _ in range(2000):  # warm caches
        decide()
    latencies: list[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    started = clock()
    while clock() < deadline:
        for _ in range(200):
            t0 = clock()
            decide()
            latencies.append(clock() - t0)
    elapsed = (clock() - started) / 1e9
    quantiles = statistics.quantiles(latencies, n=100)
    return {"per_second": len(latencies) / elapsed, "p50": quantiles[49] / 1000, "p95": quantiles[94] / 1000,
            "p99": quantiles[98] / 1000, "count": len(latencies)}


def peak_memory_kib(setup: Callable[[], Callable[[], Any]], calls: int = 5000) -> float:
    tracemalloc.start()
    decide = setup()
    for _ in range(calls):
        decide()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def felles_engine(parse_json: bool) -> Callable[[], Any]:
    store = PolicyStore()
    store.add(POLICY_FILE)
    pdp = PolicyDecisionPoint(store)
    request = request_from_json(REQUEST)
    if pdp.decide(request).decision != Decision.PERMIT:
        raise SystemExit("the benchmark request should be permitted")
    if parse_json:
        return lambda: pdp.decide(request_from_json(REQUEST))
    return lambda: pdp.decide(request)


# ---------------------------------------------------------------- the same policy in Cedar


def _cedar_name(attribute_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", attribute_id)


def cedar_policy_text() -> str:
    """Each XACML rule becomes one Cedar permit: AnyOf -> ||, AllOf -> &&, string-equal -> set contains."""
    store = PolicyStore()
    policy = store.add(POLICY_FILE)
    assert isinstance(policy, Policy)
    statements = []
    for rule in policy.rules:
        clauses = []
        for any_of in rule.target.any_ofs if rule.target else []:
            alternatives = []
            for all_of in any_of:
                tests = []
                for match in all_of:
                    assert isinstance(match.source, Designator)
                    tests.append(f'context.{_cedar_name(match.source.key.attribute_id)}.contains("{match.literal}")')
                alternatives.append("(" + " && ".join(tests) + ")")
            clauses.append("(" + " || ".join(alternatives) + ")")
        effect = "permit" if rule.effect == 0 else "forbid"
        statements.append(f"{effect}(principal, action, resource) when {{ {' && '.join(clauses) or 'true'} }};")
    return "\n".join(statements)


def cedar_context() -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for category in REQUEST["Request"].values():
        for attribute in category[0]["Attribute"]:
            values = attribute["Value"] if isinstance(attribute["Value"], list) else [attribute["Value"]]
            context[_cedar_name(attribute["AttributeId"])] = list(values)
    return context


def cedar_engine() -> Callable[[], Any]:
    import cedarpy

    policies = cedarpy.PolicySet.from_str(cedar_policy_text())
    entities = cedarpy.Entities.from_json_str("[]")
    request = {"principal": 'User::"1337"', "action": 'Action::"read"', "resource": 'App::"skd/taxreport"',
               "context": cedar_context()}
    result = cedarpy.is_authorized(request, policies, entities)
    if not result.allowed:
        raise SystemExit(f"cedar should permit the benchmark request: {result}")
    return lambda: cedarpy.is_authorized(request, policies, entities)


def report(name: str, figures: dict[str, float], memory_kib: float) -> None:
    print(f"{name:<42} {figures['per_second']:>10,.0f} decisions/s   p50 {figures['p50']:6.1f} µs   "
          f"p95 {figures['p95']:6.1f} µs   p99 {figures['p99']:6.1f} µs   peak {memory_kib:8.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per engine")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, one core, policy {POLICY_FILE.name}")
    felles = measure(felles_engine(parse_json=False), args.seconds)
    report("felles XACML (parsed request)", felles, peak_memory_kib(lambda: felles_engine(False)))
    with_json = measure(felles_engine(parse_json=True), args.seconds)
    report("felles XACML (JSON request parsed per call)", with_json, peak_memory_kib(lambda: felles_engine(True)))
    goal = 20_000
    print(f"goal ≥ {goal:,}/s per core: {'met' if felles['per_second'] >= goal else 'NOT met'}")
    try:
        cedar = measure(cedar_engine(), args.seconds)
    except ImportError:
        print("cedarpy is not installed here (uv add --group dev cedarpy): no Cedar comparison in this run")
        return
    report("cedarpy (Rust Cedar via PyO3)", cedar, peak_memory_kib(cedar_engine))
    print(f"ratio felles/cedar: {felles['per_second'] / cedar['per_second']:.2f}x decisions/s "
          f"(p50 {felles['p50'] / cedar['p50']:.2f}x the latency)")


if __name__ == "__main__":
    main()
