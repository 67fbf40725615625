"""The status page, `/status`, as Digdir's status page: each component's state and the incidents; and the monthly
statistics, `/statistics`, drawn as charts. Both public: they hold no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from felles.core.clock import utcnow
from felles.core.i18n import translate
from felles.core.runtime import RuntimeDep
from felles.operations import charts as charts_svg
from felles.operations import service, statistics
from felles.portal.shell import page_language, render_page

router = APIRouter(include_in_schema=False)


@router.get("/status", response_class=HTMLResponse, name="status_page")
async def status_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    status = await service.platform_status(runtime.database, runtime.settings)
    response = render_page(request, "operations/status.html", {"status": status})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/statistics", response_class=HTMLResponse, name="statistics_page")
async def statistics_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The month's statistics as charts (`?month=YYYY-MM`, this month by default)."""
    month = statistics.Month.parse(request.query_params.get("month"), utcnow().date())
    await service.flush_counts(runtime.database)  # this process's last minute counts too
    figures = await statistics.monthly_statistics(runtime.database, month)
    language = page_language(request)

    def t(key: str, **params: object) -> str:
        return translate(f"operations.statistics.{key}", language, **params)

    def by_count(counts: dict[str, int]) -> list[tuple[str, float]]:
        return sorted(((key, float(value)) for key, value in counts.items()), key=lambda item: -item[1])

    charts = [
        ("logins", t("logins"), figures.logins_per_eid,
         charts_svg.bar_chart("chart-logins", t("logins"), by_count(figures.logins_per_eid))),
        ("tokens", t("tokens"), figures.tokens_per_client,
         charts_svg.bar_chart("chart-tokens", t("tokens"), by_count(figures.tokens_per_client)[:30])),
        ("notifications", t("notifications"), figures.notifications_sent,
         charts_svg.bar_chart("chart-notifications", t("notifications"), by_count(figures.notifications_sent))),
        ("letters", t("letters"), figures.letters_printed_per_day,
         charts_svg.column_chart("chart-letters", t("letters"), [
             (f"{day.day}.", float(figures.letters_printed_per_day.get(day, 0))) for day in month.days()])),
        ("availability", t("availability"), figures.availability,
         charts_svg.bar_chart("chart-availability", t("availability"), sorted(figures.availability.items()),
                              maximum=100, unit=" %")),
        ("response_times", t("response_times"), figures.response_times_ms,
         charts_svg.grouped_bar_chart("chart-response-times", t("response_times"),
                                      sorted(figures.response_times_ms.items()), ("p50", "p95", "p99"),
                                      unit=" ms")),
    ]
    return render_page(request, "operations/statistics.html", {
        "month": month, "charts": charts, "figures": figures,
    })
