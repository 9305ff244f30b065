"""The text and HTML reports: sections, charts rendered to images, figures equal to the KPI
engine's, and nothing that reaches outside the file."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest

from itil_incident import (
    Actor,
    BusinessCalendar,
    DeskPolicies,
    Incident,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    ValidationError,
)
from itil_incident.reporting import (
    Chart,
    IncidentReport,
    MissingExtraError,
    build_report,
    find_recurring,
    kpi_report,
    render_chart,
)
from itil_incident.reporting._html import SECTIONS
from itil_incident.testing import FrozenClock, make_desk

START = datetime(2026, 1, 5, 8, tzinfo=UTC)
AGENT = Actor("alice")
POLICY = SlaPolicy.single("support", SlaPolicyVersion(
    version=1, effective_from=START - timedelta(days=1), fallback="all",
    agreements=[SlaAgreement(name="all", calendar=BusinessCalendar.always(), targets={
        SlaMetric.RESPONSE: dict.fromkeys(range(1, 6), timedelta(hours=1)),
        SlaMetric.RESOLUTION: {1: timedelta(hours=4), 2: timedelta(hours=8),
                               3: timedelta(hours=24), 4: timedelta(hours=48),
                               5: timedelta(hours=96)}})]))
TITLES = ("VPN drops", "Mail slow", "Printer jams", "Laptop broken")
SERVICES = ("vpn", "mail", "print", None)


@pytest.fixture(scope="module")
def incidents() -> list[Incident]:
    """Two and a half months of incidents: most resolved at various speeds, some open, a
    recurring VPN burst."""
    clock = FrozenClock(START)
    desk = make_desk(clock=clock, policies=DeskPolicies(sla=POLICY))
    for number in range(36):
        clock.set(START + timedelta(days=2 * number, hours=number % 5))
        index = number % 4
        incident = desk.log_incident(actor=AGENT, title=TITLES[index], service=SERVICES[index],
                                     impact=1 + number % 3, urgency=1 + number % 2)
        clock.advance(minutes=20 + number)
        desk.assign(incident.id, actor=AGENT, assignee="bob")
        if number % 6 != 5:
            clock.advance(hours=1 + (number * 7) % 30)
            desk.resolve(incident.id, actor=AGENT, code="solved_permanently", notes="Done")
    clock.set(START + timedelta(days=73))
    for _ in range(3):
        clock.advance(hours=2)
        desk.log_incident(actor=AGENT, title="VPN drops again", service="vpn")
    clock.set(START + timedelta(days=80))
    return desk.list_incidents()


@pytest.fixture(scope="module")
def report(incidents: list[Incident]) -> IncidentReport:
    return build_report(incidents, title="Service desk report", sla=POLICY)


class Page(HTMLParser):
    """What the tests read from the HTML: sections, tables, figures, attributes, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.headings: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.figures: dict[str, list[str]] = {}  # figure id -> text inside (SVG labels)
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tags: list[str] = []
        self.style = ""
        self._section: str | None = None
        self._table: str | None = None
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in.append(tag)
        found = dict(attrs)
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag == "section":
            self._section = found["id"]
            self.sections.append(found["id"] or "")
        elif tag == "table":
            self._table = found["id"]
            self.tables[found["id"] or ""] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self._figure = found["id"]
            self.figures[found["id"] or ""] = []

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._figure is not None and data.strip():
            self.figures[self._figure].append(data.strip())
        if self._in and self._in[-1] == "h2" and self._section is not None:
            self.headings[self._section] = data
        if self._in and self._in[-1] == "style":
            self.style += data


@pytest.fixture(scope="module")
def page(report: IncidentReport) -> Page:
    parser = Page()
    parser.feed(report.to_html())
    parser.close()
    return parser


def body_rows(page: Page, table: str) -> list[list[str]]:
    return page.tables[table][1:]


# -- charts ------------------------------------------------------------------------------------


def test_the_report_has_every_chart(report: IncidentReport) -> None:
    assert set(report.charts()) == {"volumes", "mttr", "sla", "backlog", "category", "service"}


@pytest.mark.parametrize("name", ["volumes", "mttr", "sla", "backlog", "category", "service"])
def test_every_chart_renders_to_a_non_empty_image(report: IncidentReport, name: str) -> None:
    chart = report.charts()[name]
    png = render_chart(chart, "png")
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[:2]
    assert 200 <= width <= 2000
    assert 200 <= height <= 2000
    colours = {tuple(pixel) for pixel in pixels.reshape(-1, pixels.shape[2])[::7]}
    assert len(colours) > 10  # bars, lines, labels: far from a blank canvas
    # The coloured data marks (not only black text on white) are drawn.
    assert any(abs(r - g) > 0.2 or abs(g - b) > 0.2 for r, g, b, *_ in colours)


@pytest.mark.parametrize("name", ["volumes", "mttr", "sla", "backlog", "category", "service"])
def test_every_chart_has_a_title_axis_labels_with_units_and_a_legend(
        report: IncidentReport, page: Page, name: str) -> None:
    chart = report.charts()[name]
    assert "(" in chart.y_label  # the unit
    texts = page.figures[f"{name}-figure"]
    for expected in (chart.title, chart.x_label, chart.y_label):
        assert expected in texts
    for series, _ in chart.series:
        assert series in texts  # the legend
    for category in chart.categories:
        assert category in texts  # the tick labels


def test_an_empty_chart_series_is_refused() -> None:
    with pytest.raises(ValidationError):
        Chart(title="t", x_label="x", y_label="y (count)", categories=("a",), series=())
    with pytest.raises(ValidationError):
        Chart(title="t", x_label="x", y_label="y (count)", categories=("a", "b"),
              series=(("s", (1.0,)),))
    with pytest.raises(ValidationError):
        Chart(title="t", x_label="x", y_label="y", categories=("a",), series=(("s", (1.0,)),),
              kind="pie")
    with pytest.raises(ValidationError):
        render_chart("chart")  # type: ignore[call-overload]


# -- the HTML page -----------------------------------------------------------------------------


def test_the_page_has_every_section_in_order(page: Page) -> None:
    assert page.sections == [ident for ident, _ in SECTIONS]
    assert page.headings == dict(SECTIONS)
    assert set(page.figures) == {f"{name}-figure" for name in (
        "volumes", "mttr", "sla", "backlog", "category", "service")}


def test_nothing_in_the_page_references_an_external_resource(page: Page) -> None:
    assert not {"script", "link", "iframe", "img", "object", "embed", "base"} & set(page.tags)
    for tag, name, value in page.attributes:
        if name in ("href", "xlink:href", "src", "srcset", "action", "data", "poster"):
            assert value is not None
            assert value.startswith("#"), (tag, name, value)
        if name.startswith("xmlns"):
            continue  # a namespace name, never fetched
        assert "://" not in (value or ""), (tag, name, value)
        assert "url(" not in (value or "") or "url(#" in (value or ""), (tag, name, value)
    assert "url(" not in page.style
    assert "@import" not in page.style


def test_the_volumes_table_equals_the_kpi_engine(page: Page, incidents: list[Incident]) -> None:
    volumes = kpi_report(incidents, bucket="month").volumes.of("period")
    assert body_rows(page, "volumes-table") == [[str(k), str(v)]
                                                for k, v in sorted(volumes.items(),
                                                                   key=lambda p: str(p[0]))]
    assert sum(volumes.values()) == len(incidents)


def test_the_time_to_resolve_table_equals_the_kpi_engine(page: Page,
                                                         incidents: list[Incident]) -> None:
    grouped = kpi_report(incidents, group_by=["priority"])
    expected = [[f"P{g.key[0]}", str(g.figures.time_to_resolve.n),
                 str(g.figures.time_to_resolve.missing)]
                + [f"{value / 3600:.2f}" if value is not None else "-"
                   for value in (g.figures.time_to_resolve.mean,
                                 g.figures.time_to_resolve.median,
                                 g.figures.time_to_resolve.p90)]
                for g in grouped.groups]
    assert body_rows(page, "mttr-table") == expected
    assert len(expected) >= 3


def test_the_sla_table_equals_the_kpi_engine(page: Page, incidents: list[Incident]) -> None:
    trend = kpi_report(incidents, bucket="month", sla=POLICY)
    expected = []
    for group in trend.groups:
        for item in sorted((s for s in group.figures.sla if s.priority is None),
                           key=lambda s: s.metric):
            rate = "-" if item.rate is None else f"{100 * item.rate:.1f} %"
            expected.append([str(group.key[0]), item.metric, str(item.met), str(item.breached),
                             rate])
    assert body_rows(page, "sla-table") == expected
    assert any(row[3] != "0" for row in expected)
    assert any(row[2] != "0" for row in expected)


def test_the_backlog_table_equals_the_kpi_engine(page: Page, incidents: list[Incident],
                                                 report: IncidentReport) -> None:
    backlog = kpi_report(incidents, at=report.kpis.at).backlog.total
    assert body_rows(page, "backlog-table") == [[b.label, str(b.count)] for b in backlog.ages]
    assert backlog.total == sum(1 for i in incidents if i.resolved_at is None)


def test_the_top_tables_equal_the_kpi_engine(page: Page, incidents: list[Incident]) -> None:
    volumes = kpi_report(incidents).volumes
    for dimension in ("category", "service"):
        expected = [["(none)" if k is None else str(k), str(v)]
                    for k, v in volumes.counts[dimension][:10]]
        assert body_rows(page, f"{dimension}-table") == expected


def test_the_summary_and_recurring_tables_equal_the_engines(
        page: Page, incidents: list[Incident]) -> None:
    total = kpi_report(incidents).total
    summary = {row[0]: row[1] for row in body_rows(page, "summary-table")}
    assert summary["Incidents"] == str(total.incidents)
    assert summary["Resolved incidents"] == str(total.time_to_resolve.n)
    mean = total.time_to_resolve.mean
    assert mean is not None
    assert summary["Mean time to resolve (hours)"] == f"{mean / 3600:.2f}"
    groups = find_recurring(incidents).groups
    assert groups
    assert [row[-1] for row in body_rows(page, "recurring-table")] == [
        " ".join(g.incident_ids) for g in groups]


def test_the_html_report_is_written_to_one_file(report: IncidentReport,
                                                tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    report.write_html(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<svg") == 6


# -- the text report ---------------------------------------------------------------------------


def test_the_text_report_has_every_section_and_the_engines_figures(
        report: IncidentReport, incidents: list[Incident]) -> None:
    text = report.to_text()
    lines = text.splitlines()
    assert lines[0] == "Service desk report"
    for heading in ("Summary", "Volumes over time", "Time to resolve by priority",
                    "SLA compliance trend", "Backlog age", "Top 4 categories", "Top 4 services",
                    "Recurring incidents"):
        assert any(line.startswith(heading) for line in lines), heading
    volumes = kpi_report(incidents, bucket="month").volumes.of("period")
    for period, count in volumes.items():
        assert any(line.split()[:2] == [str(period), str(count)] for line in lines), period
    for group in find_recurring(incidents).groups:
        assert f"  incidents: {' '.join(group.incident_ids)}" in lines


def test_a_report_without_incidents_says_there_is_no_data() -> None:
    empty = build_report([])
    assert empty.charts() == {}
    assert "No data." in empty.to_text()
    page = Page()
    page.feed(empty.to_html())
    assert page.figures == {}
    assert page.sections == [ident for ident, _ in SECTIONS]


def test_without_an_sla_policy_the_sla_section_says_so(incidents: list[Incident]) -> None:
    plain = build_report(incidents)
    assert "sla" not in plain.charts()
    assert "No SLA policy given." in plain.to_text()
    assert "No SLA policy given." in plain.to_html()


def test_the_report_converts_to_json(report: IncidentReport) -> None:
    data = report.to_dict()
    assert data["kpis"]["total"]["incidents"] == report.kpis.total.incidents
    assert data["recurring"]["groups"]
    assert '"title": "Service desk report"' in report.to_json()


def test_without_matplotlib_the_html_report_names_the_missing_extra(
        report: IncidentReport, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import of it now raises ImportError
    with pytest.raises(MissingExtraError) as raised:
        report.to_html()
    assert raised.value.extra == "reports"
    assert isinstance(raised.value, ImportError)
    assert "itil-incident[reports]" in str(raised.value)
    assert report.to_text().startswith("Service desk report")  # the text needs no extra


@pytest.mark.parametrize("arguments", [
    {"title": ""}, {"title": 3}, {"top": 0}, {"top": 2.5}, {"bucket": "year"},
    {"time_zone": "Nowhere/City"}, {"sla": "gold"}, {"recurring_min_count": 1},
])
def test_bad_arguments_raise_a_validation_error(incidents: list[Incident],
                                                arguments: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        build_report(incidents, **arguments)  # type: ignore[arg-type]
