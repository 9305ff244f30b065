"""docs/how-to/configuration.md: its Python runs and prints what the page shows, and every TOML
block of it is a valid configuration."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from itil_incident.config import dump_config, load_config
from itil_incident.policies.sla import SlaMetric

PAGE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "configuration.md"


def blocks(language: str) -> list[str]:
    pattern = re.compile(rf"^```{language}\n(.*?)^```", re.MULTILINE | re.DOTALL)
    return pattern.findall(PAGE.read_text(encoding="utf-8"))


def test_the_python_example_runs_and_prints_the_error_the_page_shows() -> None:
    (example,) = blocks("python")
    (shown,) = blocks("text")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "configuration.md", "exec"), {"__name__": "docs"})
    assert printed.getvalue() == shown


def test_the_complete_example_is_a_valid_configuration_of_every_section() -> None:
    (example,) = blocks("toml")
    config = load_config(example)
    policies = config.policies
    assert set(config.calendars) == {"office", "always"}
    assert "triage" in policies.incident_workflow.states
    assert policies.problem_priority_matrix.name == "problems"
    assert policies.categorizer is not None
    assert [rule.name for rule in policies.categorizer.rules] == ["vpn", "password", "erp"]
    assert policies.routing is not None
    assert policies.routing.default_group == "Service Desk"
    assert policies.sla is not None
    silver = policies.sla.latest.agreement("Silver")
    assert silver.calendar is config.calendars["office"]
    assert silver.stages == (0.5, 0.9, 1.0)
    assert policies.sla.latest.ola("Network Support") is not None
    assert policies.sla.latest.agreement("Gold").target(SlaMetric.RESOLUTION, 3) is not None
    assert [rule.name for rule in policies.escalation_rules] == [
        "P1 not acknowledged", "resolution breached", "network OLA nearly breached"]
    assert config.subscriptions is not None
    assert len(config.subscriptions.subscriptions) == 3
    assert load_config(dump_config(config)) == config
