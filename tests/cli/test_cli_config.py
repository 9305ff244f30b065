"""``config show``, ``config check`` and ``--config`` / ``ITIL_INCIDENT_CONFIG``, driven as a
user would."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from itil_incident.cli import ExitCode, app
from itil_incident.config import default_config, default_config_text, load_config

if TYPE_CHECKING:  # the fixtures' type, for mypy only (pytest provides the fixtures)
    from tests.cli.conftest import Desk

OWN_CONFIG = """
[calendars.noc]
timezone = "UTC"
windows.monday = [["00:00", "24:00"]]
windows.tuesday = [["00:00", "24:00"]]

[categories]
tree = { Network = ["VPN"], Facilities = ["Coffee Machine"] }
rules = [{ name = "coffee", category = "Facilities/Coffee Machine", keywords = ["coffee"] }]

[routing]
default_group = "Helpdesk"
groups = [{ name = "Helpdesk" }, { name = "Facilities Team", tier = 2 }]
rules = [{ name = "facilities", group = "Facilities Team", category = "Facilities" }]

[desk]
auto_close_after = "2d"
auto_close_calendar = "noc"
"""

BROKEN_CONFIG = """
[desk]
auto_close_after = "soon"
[routing]
groups = [{ name = "Helpdesk", tier = "two" }]
[[escalation.rules]]
name = "x"
action = { kind = "promote" }
"""


@pytest.fixture
def own_config(tmp_path: Path) -> Path:
    file = tmp_path / "desk.toml"
    file.write_text(OWN_CONFIG, encoding="utf-8")
    return file


@pytest.fixture
def broken_config(tmp_path: Path) -> Path:
    file = tmp_path / "broken.toml"
    file.write_text(BROKEN_CONFIG, encoding="utf-8")
    return file


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- config show ---------------------------------------------------------------------------------


def test_config_show_prints_the_shipped_configuration_as_toml_that_loads_back() -> None:
    code, out, _ = invoke("config", "show")
    assert code == 0
    assert out.startswith("# The configuration in force: the configuration shipped")
    for header in ("[calendars.office]", "[desk]", "[workflows.incident]", "[priority.incident]",
                   "[categories.tree]", "[routing]", "[sla]", "[[sla.versions.agreements]]",
                   "[[escalation.rules]]", "[[notifications.subscriptions]]"):
        assert header in out
    assert 'name = "Gold"' in out
    assert load_config(out) == default_config()


def test_config_show_json_holds_every_section() -> None:
    code, out, _ = invoke("config", "show", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"calendars", "desk", "workflows", "priority", "categories", "routing",
                         "sla", "escalation", "families", "problems", "known_errors", "major",
                         "alerts", "notifications"}
    assert data["major"]["cluster"] == {"threshold": 5, "window": "30m", "by_service": True,
                                        "by_configuration_item": True}
    assert data["sla"]["versions"][0]["effective_from"] == "2026-01-01T00:00:00+00:00"
    assert data["desk"]["auto_close_after"] == "7d"
    assert data["calendars"]["office"]["timezone"] == "Europe/Paris"


def test_config_show_shipped_prints_the_packaged_file_with_its_comments() -> None:
    code, out, _ = invoke("config", "show", "--shipped")
    assert code == 0
    assert out == default_config_text()
    assert out.startswith("# The configuration shipped with itil-incident")


def test_config_show_shipped_ignores_the_file_given(own_config: Path) -> None:
    code, out, _ = invoke("--config", str(own_config), "config", "show", "--shipped", "--json")
    assert code == 0
    assert json.loads(out)["routing"]["default_group"] == "Service Desk"


def test_config_show_prints_the_file_given_with_every_section_written_out(
        own_config: Path) -> None:
    code, out, _ = invoke("--config", str(own_config), "config", "show")
    assert code == 0
    assert f"# The configuration in force: {own_config}" in out
    data = tomllib.loads(out)
    assert data["routing"]["default_group"] == "Helpdesk"
    assert data["desk"]["auto_close_calendar"] == "noc"
    assert data["categories"]["tree"] == {"Facilities": ["Coffee Machine"], "Network": ["VPN"]}
    assert data["sla"] is False  # the file has no [sla]: the library default is none
    assert data["workflows"]["incident"]["name"] == "itil_incident"


def test_the_environment_names_the_configuration_file(
        own_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITIL_INCIDENT_CONFIG", str(own_config))
    code, out, _ = invoke("config", "show", "--json")
    assert code == 0
    assert json.loads(out)["routing"]["default_group"] == "Helpdesk"


# -- config check --------------------------------------------------------------------------------


def test_config_check_accepts_a_valid_file_and_summarizes_it(own_config: Path) -> None:
    code, out, _ = invoke("config", "check", str(own_config))
    assert code == 0
    assert out.strip() == (f"{own_config}: valid (1 calendar(s), 0 SLA version(s), "
                           "0 escalation rule(s), 0 subscription(s))")


def test_config_check_prints_every_problem_with_its_key_path_and_exits_6(
        broken_config: Path) -> None:
    code, out, err = invoke("config", "check", str(broken_config))
    assert code == ExitCode.CONFIG
    assert int(ExitCode.CONFIG) == 6
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith('desk.auto_close_after: expected a duration such as "30m"')
    assert lines[0].endswith("found the string 'soon'")
    assert lines[1] == "routing.groups[0].tier: expected an integer >= 1, found the string 'two'"
    assert lines[2].startswith("escalation.rules[0].action.kind: ")
    assert "unknown escalation action 'promote'" in lines[2]
    assert err.strip() == f"error: {broken_config} is invalid: 3 problems"


def test_config_check_json_lists_the_issues(broken_config: Path) -> None:
    code, out, _ = invoke("config", "check", str(broken_config), "--json")
    assert code == ExitCode.CONFIG
    data = json.loads(out)
    assert data["valid"] is False
    assert [issue["path"] for issue in data["issues"]] == [
        "desk.auto_close_after", "routing.groups[0].tier", "escalation.rules[0].action.kind"]
    assert data["issues"][1]["expected"] == "an integer >= 1"
    assert data["issues"][1]["found"] == "the string 'two'"


def test_config_check_json_of_a_valid_file(own_config: Path) -> None:
    code, out, _ = invoke("config", "check", "--json", str(own_config))
    assert code == 0
    data = json.loads(out)
    assert (data["valid"], data["issues"], data["calendars"]) == (True, [], ["noc"])


def test_config_check_of_a_missing_file_exits_6(tmp_path: Path) -> None:
    code, out, err = invoke("config", "check", str(tmp_path / "absent.toml"))
    assert code == ExitCode.CONFIG
    assert "expected a readable UTF-8 TOML file" in out
    assert "absent.toml is invalid: 1 problem" in err


def test_config_check_of_the_shipped_text_passes(tmp_path: Path) -> None:
    file = tmp_path / "copy.toml"
    file.write_text(default_config_text(), encoding="utf-8")
    assert invoke("config", "check", str(file))[0] == 0


# -- --config drives the desk --------------------------------------------------------------------


def test_the_desk_categorizes_and_routes_by_the_configuration_file(
        desk: Desk, own_config: Path) -> None:
    result = desk.ok("--config", str(own_config), "log", "The coffee machine leaks")
    assert "Facilities/Coffee Machine -> Facilities Team (tier 2)" in result.stdout
    shipped = desk.json("log", "The coffee machine leaks")
    assert shipped["category"] is None
    assert shipped["assignment_group"] == "Service Desk"


def test_a_category_outside_the_configured_tree_is_refused(
        desk: Desk, own_config: Path) -> None:
    result = desk("--config", str(own_config), "log", "Printer jams",
                  "--category", "Hardware/Printer")
    assert result.exit_code == ExitCode.REFUSED
    assert "unknown category 'Hardware/Printer'" in result.stderr


def test_an_invalid_configuration_file_ends_any_command_with_one_line_and_exit_6(
        desk: Desk, broken_config: Path) -> None:
    result = desk("--config", str(broken_config), "log", "VPN down")
    assert result.exit_code == ExitCode.CONFIG
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message
    assert message.startswith(f"error: {broken_config} is invalid: desk.auto_close_after: ")
    assert "(and 2 more)" in message
    assert f"run `itil-incident config check {broken_config}`" in message
    assert desk.json("list") == []


def test_workflow_show_draws_the_configured_workflow(tmp_path: Path) -> None:
    workflow = default_config().policies.problem_workflow.to_dict()
    workflow["name"] = "renamed_problem"
    for transition in workflow["transitions"]:
        if transition["target"] is None:
            del transition["target"]
    file = tmp_path / "workflow.toml"
    lines = ["[workflows.problem]", f'name = "{workflow["name"]}"']
    for state in workflow["states"]:
        lines += ["[[workflows.problem.states]]",
                  *(f"{key} = {json.dumps(value)}" for key, value in state.items())]
    for transition in workflow["transitions"]:
        lines += ["[[workflows.problem.transitions]]",
                  *(f"{key} = {json.dumps(value)}" for key, value in transition.items())]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = invoke("--config", str(file), "workflow", "show", "--problem", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "renamed_problem"


def test_the_exit_codes_in_the_help_name_the_configuration() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert "6 the configuration file is invalid" in out
    assert "--config FILE" in out
