"""docs/how-to/configuration.md: the complete example sets the sections of the desk's other
policies (families, problems, known errors, major incidents, alerts) as the page describes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from itil_incident.config import dump_config, load_config
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.policies.problem_resolution import OnProblemResolved

PAGE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "configuration.md"


def example() -> str:
    (block,) = re.findall(r"^```toml\n(.*?)^```", PAGE.read_text(encoding="utf-8"),
                          re.MULTILINE | re.DOTALL)
    return str(block)


def test_the_complete_example_sets_every_section_of_the_other_policies() -> None:
    config = load_config(example())
    policies = config.policies
    assert policies.on_problem_resolved is OnProblemResolved.RESOLVE
    assert policies.known_errors is not None
    assert (policies.known_errors.service_weight, policies.known_errors.min_score) == (3, 5)
    major = policies.major
    assert major is not None
    assert major.critical_services == {"ERP"}
    assert major.cadence_for(2) == timedelta(hours=2)
    assert major.cluster is not None
    assert major.cluster.threshold == 4
    alerts = policies.alerts
    assert alerts.assignment_group == "Network Support"
    assert alerts.levels[AlertSeverity.WARNING] == (3, 2)
    assert alerts.impact_urgency(AlertSeverity.MINOR, "ERP") == (1, 2)
    assert alerts.resolution_code in (policies.resolution_codes or ())
    assert load_config(dump_config(config)) == config


def test_every_section_the_loader_reads_is_documented() -> None:
    from itil_incident.config._load import SECTIONS

    text = PAGE.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f"### `[{section}" in text, section
