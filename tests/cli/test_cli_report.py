"""``itil-incident report``: KPIs, the text report, HTML and JSON, on a real SQLite desk."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Desk

Log = Callable[..., str]
JANUARY = "2026-01-12T09:00:00+01:00"
FEBRUARY = ["2026-02-02T09:00:00+01:00", "2026-02-02T10:00:00+01:00",
            "2026-02-02T11:00:00+01:00"]
LATER = "2026-02-03T18:00:00+01:00"


@pytest.fixture
def filled(desk: Desk, logged: Log) -> list[str]:
    """One resolved incident in January, three similar VPN incidents in February (two
    resolved), a mail incident left open."""
    first = logged("Printer jams", "--service", "Print", now=JANUARY)
    desk.ok("resolve", first, "--code", "solved_remotely", "--notes", "Cleared",
            now="2026-01-12T11:00:00+01:00")
    ids = [first]
    for index, now in enumerate(FEBRUARY):
        incident = logged("VPN drops again", "--service", "Remote Access", now=now)
        if index < 2:
            desk.ok("resolve", incident, "--code", "solved_remotely", "--notes", "Reconnected",
                    now=LATER)
        ids.append(incident)
    ids.append(logged("Mailbox full", "--service", "Email", now=LATER))
    return ids


def test_report_prints_the_kpis_and_every_section(desk: Desk, filled: list[str]) -> None:
    output = desk.ok("report", now=LATER).stdout
    lines = output.splitlines()
    assert lines[0] == "Incident report"
    assert any(line.split() == ["Incidents", "5"] for line in lines)
    for heading in ("Summary", "Volumes over time", "Time to resolve by priority",
                    "SLA compliance trend", "Backlog age", "Recurring incidents"):
        assert any(line.startswith(heading) for line in lines), heading
    assert any(line.split()[:2] == ["2026-01", "1"] for line in lines)
    assert any(line.split()[:2] == ["2026-02", "4"] for line in lines)
    assert f"  incidents: {' '.join(filled[1:4])}" in lines
    assert "Open incidents: 2" in lines


def test_report_json_holds_the_figures(desk: Desk, filled: list[str]) -> None:
    data = desk.json("report", now=LATER)
    assert data["kpis"]["total"]["incidents"] == 5
    assert data["kpis"]["total"]["time_to_resolve"]["n"] == 3
    assert data["kpis"]["backlog"]["total"]["total"] == 2
    [group] = data["recurring"]["groups"]
    assert [item["incident_id"] for item in group["incidents"]] == filled[1:4]
    assert group["proposal"]["incident_ids"] == filled[1:4]
    assert any(item["metric"] == "resolution" for item in data["kpis"]["total"]["sla"])


def test_report_since_and_until_choose_the_incidents_logged_in_the_period(
        desk: Desk, filled: list[str]) -> None:
    february = desk.json("report", "--since", "2026-02-01T00:00:00+01:00", now=LATER)
    assert february["kpis"]["total"]["incidents"] == 4
    assert february["kpis"]["excluded"] == 1
    january = desk.json("report", "--until", "2026-02-01T00:00:00+01:00", now=LATER)
    assert january["kpis"]["total"]["incidents"] == 1
    assert january["recurring"]["groups"] == []


def test_report_bucket_and_time_zone_change_the_periods(desk: Desk, filled: list[str]) -> None:
    data = desk.json("report", "--bucket", "week", "--time-zone", "Europe/Paris", now=LATER)
    periods = {item["key"] for item in data["kpis"]["volumes"]["period"]}
    assert periods == {"2026-W03", "2026-W06"}


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.sections.append(dict(attrs)["id"] or "")
        elif tag == "svg":
            self.svgs += 1


def test_report_html_writes_the_self_contained_report(desk: Desk, filled: list[str],
                                                      tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = desk.ok("report", "--html", str(target), now=LATER)
    assert f"HTML report written to {target}" in result.stdout
    parser = _Sections()
    parser.feed(target.read_text(encoding="utf-8"))
    assert parser.sections == ["summary", "volumes", "mttr", "sla", "backlog", "category",
                               "service", "recurring"]
    assert parser.svgs >= 5


def test_report_refuses_a_period_that_ends_before_it_starts(desk: Desk) -> None:
    result = desk("report", "--since", "2026-02-01T00:00:00+01:00",
                  "--until", "2026-01-01T00:00:00+01:00")
    assert result.exit_code == 2
    assert "--until must come after --since" in result.output


def test_report_refuses_an_unknown_time_zone_with_one_line(desk: Desk) -> None:
    result = desk("report", "--time-zone", "Mars/Olympus")
    assert result.exit_code == 1
    assert "unknown time zone" in result.stderr


def test_report_html_into_a_missing_directory_fails_with_one_line(desk: Desk,
                                                                 tmp_path: Path) -> None:
    result = desk("report", "--html", str(tmp_path / "missing" / "report.html"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write")


def test_report_on_an_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    from tests.cli.conftest import Desk

    result = Desk(tmp_path / "none.sqlite3")("report")
    assert result.exit_code == 5
    assert "init" in result.stderr


WHAT_IF = """
[alternatives.strict]
scale = 0.01

[alternatives.relaxed]
scale = 100
pause_hold_reasons = ["awaiting_caller", "awaiting_vendor"]

[alternatives."fast response".targets]
response = { 1 = 0.01, 2 = 0.01, 3 = 0.01, 4 = 0.01, 5 = 0.01 }
"""


def test_report_what_if_compares_policy_variants_side_by_side(
        desk: Desk, filled: list[str], tmp_path: Path) -> None:
    variants = tmp_path / "what-if.toml"
    variants.write_text(WHAT_IF, encoding="utf-8")
    data = desk.json("report", "--what-if", str(variants), now=LATER)
    simulation = data["what_if"]
    assert simulation["policies"] == ["original", "strict", "relaxed", "fast response"]
    assert simulation["incidents"] == 5
    resolution = {c["policy"]: c for c in simulation["totals"]["resolution"]}
    assert resolution["relaxed"]["breached"] == 0
    assert resolution["strict"]["breached"] >= resolution["original"]["breached"]
    assert resolution["strict"]["met"] == 0
    response = {c["policy"]: c for c in simulation["totals"]["response"]}
    assert response["fast response"]["met"] == 0
    text = desk.ok("report", "--what-if", str(variants), now=LATER).stdout
    assert "What-if SLA simulation" in text
    assert any(line.split()[:1] == ["relaxed"] for line in text.splitlines())


@pytest.mark.parametrize("content", [
    "not toml [", "[other]\nx = 1", '[alternatives.x]\ncolour = "red"',
    "[alternatives.x]\nscale = -1", '[alternatives.x.targets]\nresolution = { 1 = "soon" }',
    '[alternatives.x.targets]\nuptime = { 1 = 2 }', '[alternatives.x]\ncalendar = { a = 1 }',
])
def test_report_refuses_a_malformed_what_if_file(desk: Desk, tmp_path: Path,
                                                 content: str) -> None:
    variants = tmp_path / "what-if.toml"
    variants.write_text(content, encoding="utf-8")
    result = desk("report", "--what-if", str(variants))
    assert result.exit_code == 2, result.output
    assert "--what-if" in result.output
