"""Prometheus metrics of the process, served at `/metrics`, labelled per component; and the response times each
process keeps for the monthly statistics.

Several server processes (`felles serve --workers N`) share their metrics through prometheus-client's
multi-process mode: the supervisor sets PROMETHEUS_MULTIPROC_DIR for its processes, each writes its samples
there, and `/metrics` on any of them answers the sum (`registry()`).
"""

from __future__ import annotations

import bisect
import os
import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import REGISTRY

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HTTP_REQUESTS = Counter(
    "felles_http_requests_total", "HTTP requests answered", ["component", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "felles_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["component", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
JOBS_FINISHED = Counter(
    "felles_jobs_finished_total", "Job runs by outcome: succeeded, failed (to be retried) or dead",
    ["component", "kind", "outcome"],
)


def registry() -> CollectorRegistry:
    """What `/metrics` answers: this process's metrics, or every server process's when they share a folder."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    shared = CollectorRegistry()
    multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
    return shared


def component_of_route(template: str) -> str:
    """The component a route belongs to: its path's first segment (`/events/api/v1/…` → events); the apps' routes
    start with `/{org}/{app}`."""
    first = template.lstrip("/").split("/", 1)[0]
    if not first:
        return "portal"
    return "apps" if first.startswith("{") else first.removeprefix(".")


def component_of_job(kind: str) -> str:
    """A job kind is named `<component>.<what>`."""
    return kind.split(".", 1)[0]


class ResponseTimes:
    """Response-time buckets per component, kept in the process until the statistics take them (every minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, float], list[int]] = {}

    def observe(self, component: str, seconds: float, *, error: bool) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        le = LATENCY_BUCKETS[index] if index < len(LATENCY_BUCKETS) else float("inf")
        with self._lock:
            counts = self._counts.setdefault((component, le), [0, 0])
            counts[0] += 1
            counts[1] += int(error)

    def take(self) -> dict[tuple[str, float], list[int]]:
        """What was observed since the last take (and forget it)."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken

    def give_back(self, counts: dict[tuple[str, float], list[int]]) -> None:
        """Counts that could not be stored, kept for the next take."""
        with self._lock:
            for key, (count, errors) in counts.items():
                kept = self._counts.setdefault(key, [0, 0])
                kept[0] += count
                kept[1] += errors


RESPONSE_TIMES = ResponseTimes()
