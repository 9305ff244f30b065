"""Message templates: ``$field`` substitution from an allow-list, nothing else.

A :class:`Template` is checked when it is built: every placeholder must be one of
:data:`FIELDS` (``$id``, ``$title``, ``$status``, ...); ``$$`` is a literal ``$``. Rendering is
:class:`string.Template` substitution from a dict of strings, so a template can reach no
attribute, call nothing and run no code: ``$title.__class__`` renders the title followed by the
text ``.__class__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from string import Template as _StringTemplate

import attrs

from itil_incident.errors import DefinitionError
from itil_incident.notifications._view import FIELDS

__all__ = ["FIELDS", "RenderedMessage", "Template", "TemplateSet"]

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")


def _compile(name: str, part: str, text: object) -> _StringTemplate:
    if not isinstance(text, str):
        raise DefinitionError(f"template {name!r}: {part} must be a string", culprit=name)
    compiled = _StringTemplate(text)
    if not compiled.is_valid():
        raise DefinitionError(
            f"template {name!r}: {part} has a '$' that starts no placeholder "
            "(write '$$' for a dollar sign)", culprit=name)
    unknown = sorted(set(compiled.get_identifiers()) - FIELDS)
    if unknown:
        raise DefinitionError(
            f"template {name!r}: {part} uses unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(FIELDS))}", culprit=name)
    return compiled


@attrs.frozen
class RenderedMessage:
    """A rendered subject line and body."""

    subject: str
    body: str


@attrs.frozen
class Template:
    """A named subject and body with ``$field`` placeholders from :data:`FIELDS`.

    Refused when built (DefinitionError): an unknown field, a stray ``$``, a subject that is
    not a single line, a name that is not a plain identifier.
    """

    name: str
    subject: str
    body: str
    _compiled: tuple[_StringTemplate, _StringTemplate] = attrs.field(
        init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or _NAME.fullmatch(self.name) is None:
            raise DefinitionError(f"template name must be a plain identifier, got "
                                  f"{self.name!r}", culprit="name")
        if isinstance(self.subject, str) and len(self.subject.splitlines()) > 1:
            raise DefinitionError(f"template {self.name!r}: subject must be a single line",
                                  culprit=self.name)
        compiled = (_compile(self.name, "subject", self.subject),
                    _compile(self.name, "body", self.body))
        object.__setattr__(self, "_compiled", compiled)

    @property
    def fields(self) -> frozenset[str]:
        """The fields the template uses."""
        subject, body = self._compiled
        return frozenset(subject.get_identifiers()) | frozenset(body.get_identifiers())

    def render(self, values: Mapping[str, str]) -> RenderedMessage:
        """Substitute ``values`` (field name to text); a missing field renders empty."""
        allowed = {name: str(values.get(name, "")) for name in FIELDS}
        subject, body = self._compiled
        return RenderedMessage(subject.substitute(allowed), body.substitute(allowed))


_FOOTER = (
    "\n\nIncident: $id\nTitle: $title\nStatus: $status\nPriority: $priority\n"
    "Assignment group: $assignment_group\nAssignee: $assignee\n"
    "Changed by $actor at $at ($event)\n$url\n"
)

_DEFAULTS = (
    Template("default", "[$id] $title ($status)", "Incident $id was updated." + _FOOTER),
    Template("incident.logged", "[$id] Logged: $title",
             "Incident $id was logged.\n\n$description" + _FOOTER),
    Template("incident.assigned", "[$id] Assigned: $title",
             "Incident $id was assigned." + _FOOTER),
    Template("incident.put_on_hold", "[$id] On hold ($hold_reason): $title",
             "Incident $id is on hold: $hold_reason." + _FOOTER),
    Template("incident.resumed", "[$id] Work resumed: $title",
             "Work on incident $id resumed." + _FOOTER),
    Template("incident.resolved", "[$id] Resolved: $title",
             "Incident $id was resolved ($resolution_code).\n\n$resolution_notes" + _FOOTER),
    Template("incident.closed", "[$id] Closed: $title", "Incident $id was closed." + _FOOTER),
    Template("incident.reopened", "[$id] Reopened: $title",
             "Incident $id was reopened." + _FOOTER),
    Template("incident.escalated", "[$id] Escalated: $title",
             "Incident $id was escalated." + _FOOTER),
    Template("incident.cancelled", "[$id] Cancelled: $title",
             "Incident $id was cancelled." + _FOOTER),
    Template("incident.reprioritized", "[$id] Priority $priority: $title",
             "The priority of incident $id is now $priority." + _FOOTER),
    Template("incident.priority_overridden", "[$id] Priority $priority: $title",
             "The priority of incident $id was set to $priority by hand." + _FOOTER),
)


class TemplateSet:
    """Templates by name. A subscription without a template gets the one named after the event
    (``"incident.resolved"``), else the one named ``"default"``."""

    DEFAULT = "default"

    def __init__(self, templates: Iterable[Template]) -> None:
        found: dict[str, Template] = {}
        for template in templates:
            if not isinstance(template, Template):
                raise DefinitionError(f"not a Template: {template!r}", culprit="templates")
            if template.name in found:
                raise DefinitionError(f"two templates are named {template.name!r}",
                                      culprit=template.name)
            found[template.name] = template
        self._templates = found

    @classmethod
    def defaults(cls) -> TemplateSet:
        """Plain-text templates for the common incident events, and a ``"default"`` one."""
        return cls(_DEFAULTS)

    def with_templates(self, *templates: Template) -> TemplateSet:
        """A copy in which ``templates`` replace those of the same names."""
        replaced = dict(self._templates)
        for template in TemplateSet(templates):
            replaced[template.name] = template
        return TemplateSet(replaced.values())

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def __iter__(self) -> Iterator[Template]:
        return iter(self._templates.values())

    def __getitem__(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise DefinitionError(f"no template named {name!r}", culprit=name) from None

    def for_event(self, event_name: str, template: str | None = None) -> Template:
        """``template`` if given, else the template named after the event, else the default."""
        if template is not None:
            return self[template]
        found = self._templates.get(event_name)
        return found if found is not None else self[self.DEFAULT]
