"""Configuration as files: one TOML file declares everything a desk's policies hold.

:func:`load_config` reads a file (a ``pathlib.Path``), TOML text or parsed data into a
:class:`DeskConfig`: the :class:`~itil_incident.DeskPolicies` (workflows, priority matrices,
categories and categorization rules, routing, SLA policy, escalation rules, auto-close and
reminders, parent/child and duplicate incidents, problem resolution, known-error matching, the
major-incident policy and the alert policy), the named business calendars and the
notification subscriptions. Loading
validates completely: a :class:`ConfigError` lists every :class:`ConfigIssue` found, each at
its key path with what was expected and what was found; nothing is built from an invalid file.
:func:`default_config` is the configuration shipped with the package (``default.toml``);
:func:`dump_config` writes a configuration back as TOML. The format is described section by
section in the documentation (``docs/how-to/configuration.md``).

>>> from itil_incident.config import load_config
>>> config = load_config('''
... [routing]
... default_group = "Desk"
... groups = [{ name = "Desk" }, { name = "Network", tier = 2 }]
... rules = [{ name = "network", group = "Network", category = "Network" }]
... ''')
>>> config.policies.routing.default_group
'Desk'
"""

from __future__ import annotations

import functools
from importlib import resources

from itil_incident.config._dump import dump_config
from itil_incident.config._issues import ConfigError, ConfigIssue
from itil_incident.config._load import load_config
from itil_incident.config._model import DeskConfig

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DeskConfig",
    "default_config",
    "default_config_text",
    "dump_config",
    "load_config",
]


def default_config_text() -> str:
    """The text of the configuration shipped with the package (``default.toml``)."""
    return resources.files(__name__).joinpath("default.toml").read_text(encoding="utf-8")


@functools.cache
def default_config() -> DeskConfig:
    """The configuration shipped with the package: the ITIL defaults of
    :class:`~itil_incident.DeskPolicies`, Gold and Silver SLAs on Paris office hours,
    escalation rules, auto-close after 7 days, a daily reminder on hold, and the ITIL
    notification subscriptions. The same object every call.

    >>> default_config().policies.sla.latest.fallback
    'Silver'
    """
    return load_config(default_config_text())
