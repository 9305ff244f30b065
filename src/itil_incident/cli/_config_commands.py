"""``config show`` and ``config check``: the configuration in force, and a file's problems."""

from __future__ import annotations

from pathlib import Path

import click

from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._data import echo_json, plain
from itil_incident.cli._exit import ConfigFailure
from itil_incident.cli._incidents import json_option
from itil_incident.config import (
    ConfigError,
    default_config,
    default_config_text,
    dump_config,
    load_config,
)

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """The configuration the desk runs with (--config FILE or ITIL_INCIDENT_CONFIG, else the
    one shipped with the package)."""


@config_group.command("show")
@json_option
@click.option("--shipped", is_flag=True,
              help="The configuration shipped with the package instead (as TOML: the file "
                   "itself, comments included).")
@pass_session
def config_show_command(session: Session, as_json: bool, shipped: bool) -> None:
    """Print the configuration in force as TOML (every section written out), or as JSON."""
    if shipped and not as_json:
        click.echo(default_config_text(), nl=False)
        return
    config = default_config() if shipped else session.config
    if as_json:
        echo_json(plain(config.to_dict()))
        return
    source = session.config_file or "the configuration shipped with itil-incident"
    click.echo(f"# The configuration in force: {source}\n")
    click.echo(dump_config(config), nl=False)


@config_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def config_check_command(file: Path, as_json: bool) -> None:
    """Validate a configuration file: every problem, each at its key path (exit code 6 when
    there is any)."""
    try:
        config = load_config(file)
    except ConfigError as error:
        if as_json:
            echo_json({"file": str(file), "valid": False,
                       "issues": [{"path": issue.path, "expected": issue.expected,
                                   "found": issue.found, "reason": issue.reason}
                                  for issue in error.issues]})
        else:
            for issue in error.issues:
                click.echo(str(issue))
        count = len(error.issues)
        raise ConfigFailure(f"{file} is invalid: {count} problem{'s' * (count != 1)}") from None
    policies = config.policies
    summary = {
        "file": str(file), "valid": True,
        "calendars": sorted(config.calendars),
        "sla_versions": 0 if policies.sla is None else len(policies.sla.versions),
        "escalation_rules": len(policies.escalation_rules),
        "subscriptions": (0 if config.subscriptions is None
                          else len(config.subscriptions.subscriptions)),
    }
    if as_json:
        echo_json({**summary, "issues": []})
    else:
        click.echo(f"{file}: valid ({len(config.calendars)} calendar(s), "
                   f"{summary['sla_versions']} SLA version(s), "
                   f"{summary['escalation_rules']} escalation rule(s), "
                   f"{summary['subscriptions']} subscription(s))")
