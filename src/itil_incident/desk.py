"""The service desk: the use cases of incident and problem management.

Every command loads the record, asks the authorizer, calls the entity (which checks everything
and records one event), saves with the expected version, then hands the new events to the
notifier. A refused command raises a library error and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from itil_incident._alert_commands import AlertCommands
from itil_incident._desk_core import collection, optional_id, positive_limit, state_names
from itil_incident._major_commands import MajorCommands
from itil_incident._paging import (
    IncidentOrder,
    Page,
    PageCursor,
    as_cursor,
    page_of,
    page_size,
)
from itil_incident._problem_commands import ProblemCommands
from itil_incident._time_driven import TimeDrivenCommands
from itil_incident.domain import _checks as check
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import (
    Actor,
    CategoryPath,
    Channel,
    CustomValue,
    EscalationKind,
    Impact,
    LinkKind,
    NoteVisibility,
    Priority,
    Satisfaction,
    Urgency,
)
from itil_incident.errors import ValidationError
from itil_incident.ports import IncidentQuery

__all__ = ["ServiceDesk"]


class ServiceDesk(ProblemCommands, TimeDrivenCommands, MajorCommands, AlertCommands):
    """Incident and problem management over the ports you give it.

    >>> from itil_incident import ServiceDesk, Actor
    >>> from itil_incident.testing import InMemoryRepository, FrozenClock
    >>> from datetime import datetime, UTC
    >>> clock = FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    >>> desk = ServiceDesk(InMemoryRepository(), clock=clock)
    >>> agent = Actor("alice", "Alice", {"agent"})
    >>> incident = desk.log_incident(actor=agent, title="VPN drops every few minutes")
    >>> incident.id, incident.status, str(incident.category)
    ('INC0000001', 'new', 'Network/VPN')

    **Ids.** New incidents and problems are numbered by ``ids`` (an
    :class:`~itil_incident.IdFactory`). Without one, a desk on a
    :class:`~itil_incident.adapters.sql.SqlRepository` numbers them from counters in its
    database (:class:`~itil_incident.adapters.sql.SqlIdFactory`: every process and host goes
    on from the same sequence, and from the records already stored); any other desk counts
    from ``INC0000001`` (:class:`~itil_incident.SequentialIdFactory`).

    **Concurrent changes.** Every command saves with the version it loaded; when another user
    or process saved the record in between, the repository raises
    :class:`~itil_incident.ConcurrencyError` and nothing is stored. With a
    :class:`~itil_incident.RetryPolicy` (``ServiceDesk(..., retry=RetryPolicy(attempts=3))``,
    or for some calls ``desk.with_retry(policy)``), the commands in
    :attr:`RETRYABLE_COMMANDS` are then tried again, up to ``attempts`` tries in all: each
    try loads the records afresh, asks the authorizer again and applies the command to the
    state that won. If that state refuses the command (the incident was closed meanwhile, the
    link exists already), that refusal is raised, not a ConcurrencyError; after the last try
    the ConcurrencyError is raised. A failed try stores nothing and notifies nobody, so the
    events are committed and notified once.

    A command is retryable when its arguments say everything the user meant, whatever
    happened meanwhile: it adds something (a note, a comment, a link) or sets a field to a
    value given in full (an assignment to a named group or person, a category, a custom
    attribute); and ``process_due``, which works out what is due from the state it finds,
    incident by incident. The other commands are decisions taken on the state the user saw,
    and a concurrent change may be exactly what should change that decision: lifecycle
    moves (start work, hold, resume, resolve, close, reopen, cancel, escalate, transition),
    priority changes and overrides (judged on the impact and urgency seen), edits of text
    the user read (details, root cause, workaround), commands that move links between
    several records (parent, problem), and the commands that create records. They raise the
    ConcurrencyError at once, for the user to look again.
    """

    #: The commands that a :class:`~itil_incident.RetryPolicy` retries (see above); every
    #: other command raises a ConcurrencyError at its first conflict.
    RETRYABLE_COMMANDS: ClassVar[frozenset[str]] = frozenset({
        "add_comment",
        "add_problem_note",
        "add_work_note",
        "assign",
        "assign_problem",
        "categorize",
        "link_change",
        "link_related",
        "process_due",
        "set_custom_attribute",
    })

    # ----------------------------------------------------------------- logging

    def log_incident(
        self,
        *,
        actor: Actor,
        title: str,
        description: str = "",
        service: str | None = None,
        configuration_items: Iterable[str] = (),
        caller: str | None = None,
        channel: Channel | str = Channel.PORTAL,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
        category: CategoryPath | str | None = None,
        assignment_group: str | None = None,
        occurred_at: datetime | None = None,
        detected_at: datetime | None = None,
        custom: Mapping[str, CustomValue] | None = None,
    ) -> Incident:
        """Log a new incident.

        Without a ``category`` the categorizer proposes one (and the event names the rule);
        without an ``assignment_group`` the routing table picks the group and tier. Impact and
        urgency default to the least severe levels of the priority matrix.
        """
        actor = check.actor(actor)
        self._authorize(actor, "log_incident", None)
        policies = self.policies
        channel = _channel(channel)
        rule: str | None = None
        if category is not None:
            chosen: CategoryPath | None = self._category(category)
        else:
            chosen = None
            if policies.categorizer is not None:
                match = policies.categorizer.categorize(
                    title=check.text(title, "title", limit=check.MAX_TITLE),
                    description=description if isinstance(description, str) else "",
                    service=service if isinstance(service, str) else None,
                    configuration_items=check.text_tuple(configuration_items,
                                                         "configuration_items"),
                    channel=channel,
                )
                if match is not None:
                    chosen, rule = match.category, match.rule
        group: str | None = None
        tier: int | None = None
        routing_rule: str | None = None
        routing = policies.routing
        if assignment_group is not None:
            group = check.identifier(assignment_group, "assignment_group")
            if routing is not None:
                tier = routing.group(group).tier
        elif routing is not None:
            route = routing.route(category=chosen,
                                  service=service if isinstance(service, str) else None)
            if route is not None:
                group, tier, routing_rule = route.group, route.tier, route.rule
        incident = Incident.log(
            incident_id=self.ids.next_incident_id,
            workflow=policies.incident_workflow,
            matrix=policies.priority_matrix,
            actor=actor,
            at=self._now(),
            title=title,
            description=description,
            service=service,
            configuration_items=configuration_items,
            caller=caller,
            channel=channel,
            impact=impact,
            urgency=urgency,
            occurred_at=occurred_at,
            detected_at=detected_at,
            category=chosen,
            category_rule=rule,
            assignment_group=group,
            support_tier=tier,
            routing_rule=routing_rule,
            custom=custom,
            custom_schema=policies.custom_fields,
        )
        self._offer_known_errors(incident, actor, incident.logged_at)
        self._commit([incident])
        return incident

    # ----------------------------------------------------------------- classification

    def update_details(
        self,
        incident_id: str,
        *,
        actor: Actor,
        title: str | None = None,
        description: str | None = None,
        service: str | None = None,
        configuration_items: Iterable[str] | None = None,
        caller: str | None = None,
    ) -> Incident:
        """Change descriptive fields; only those given change."""
        return self._on_incident(
            "update_details", incident_id, actor,
            lambda i, a, t: i.update_details(
                actor=a, at=t, title=title, description=description, service=service,
                configuration_items=configuration_items, caller=caller),
        )

    def categorize(self, incident_id: str, category: CategoryPath | str, *, actor: Actor,
                   reroute: bool = False) -> Incident:
        """Set the category (checked against the category tree). With ``reroute`` the routing
        table then reassigns the incident to the group it gives for the new category."""
        path = self._category(category)
        reroute = self._flag(reroute, "reroute")

        def change(incident: Incident, a: Actor, t: datetime) -> None:
            incident.categorize(path, actor=a, at=t)
            routing = self.policies.routing
            if reroute and routing is not None:
                route = routing.route(category=path, service=incident.service)
                if route is not None and route.group != incident.assignment_group:
                    incident.assign(actor=a, at=t, group=route.group, tier=route.tier)

        return self._on_incident("categorize", incident_id, actor, change)

    def change_impact_urgency(
        self,
        incident_id: str,
        *,
        actor: Actor,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
    ) -> Incident:
        """Change impact and/or urgency; the priority follows the matrix unless overridden."""
        matrix = self.policies.priority_matrix
        return self._on_incident(
            "change_impact_urgency", incident_id, actor,
            lambda i, a, t: i.reprioritize(matrix, actor=a, at=t, impact=impact,
                                           urgency=urgency),
        )

    def override_priority(self, incident_id: str, priority: Priority | int | str, *,
                          actor: Actor, justification: str) -> Incident:
        """Set the priority by hand; the justification is recorded."""
        matrix = self.policies.priority_matrix
        return self._on_incident(
            "override_priority", incident_id, actor,
            lambda i, a, t: i.override_priority(priority, matrix, justification=justification,
                                                actor=a, at=t),
        )

    def clear_priority_override(self, incident_id: str, *, actor: Actor) -> Incident:
        """Let the matrix decide the priority again."""
        matrix = self.policies.priority_matrix
        return self._on_incident(
            "clear_priority_override", incident_id, actor,
            lambda i, a, t: i.clear_priority_override(matrix, actor=a, at=t),
        )

    # ----------------------------------------------------------------- lifecycle

    def assign(self, incident_id: str, *, actor: Actor, group: str | None = None,
               assignee: str | None = None) -> Incident:
        """Assign to a support group and/or a person; the tier follows the routing table."""
        tier = None
        routing = self.policies.routing
        if group is not None and routing is not None:
            tier = routing.group(check.identifier(group, "group")).tier
        return self._on_incident(
            "assign", incident_id, actor,
            lambda i, a, t: i.assign(actor=a, at=t, group=group, assignee=assignee, tier=tier),
        )

    def start_work(self, incident_id: str, *, actor: Actor) -> Incident:
        """Start working; with nobody assigned, the actor takes the incident."""
        return self._on_incident("start_work", incident_id, actor,
                                 lambda i, a, t: i.start_work(actor=a, at=t))

    def put_on_hold(self, incident_id: str, reason: str, *, actor: Actor,
                    note: str | None = None) -> Incident:
        """Put on hold for one of the configured reasons, optionally with a comment that the
        caller sees (for example the question being waited on)."""
        reasons = self.policies.hold_reasons

        def change(incident: Incident, a: Actor, t: datetime) -> None:
            incident.put_on_hold(reason, actor=a, at=t, allowed=reasons)
            if note is not None:
                incident.add_note(note, actor=a, at=t, visibility=NoteVisibility.COMMENT)

        return self._on_incident("put_on_hold", incident_id, actor, change)

    def resume(self, incident_id: str, *, actor: Actor) -> Incident:
        """Resume work after a hold."""
        return self._on_incident("resume", incident_id, actor,
                                 lambda i, a, t: i.resume(actor=a, at=t))

    def add_work_note(self, incident_id: str, text: str, *, actor: Actor) -> Incident:
        """A note for the support staff only."""
        return self._on_incident(
            "add_work_note", incident_id, actor,
            lambda i, a, t: i.add_note(text, actor=a, at=t, visibility=NoteVisibility.WORK_NOTE),
        )

    def add_comment(self, incident_id: str, text: str, *, actor: Actor) -> Incident:
        """A comment the caller can read."""
        return self._on_incident(
            "add_comment", incident_id, actor,
            lambda i, a, t: i.add_note(text, actor=a, at=t, visibility=NoteVisibility.COMMENT),
        )

    def resolve(self, incident_id: str, *, actor: Actor, code: str, notes: str) -> Incident:
        """Resolve with a resolution code (one of the configured codes) and notes.

        With ``policies.cascade_resolution`` (the default) the open children are resolved
        too, with the same code and notes, atomically (see :meth:`mark_duplicate` for
        duplicates and the problem management guide for the details)."""
        codes = self.policies.resolution_codes
        return self._on_family(
            "resolve", incident_id, actor,
            lambda i, a, t: i.resolve(code=code, notes=notes, actor=a, at=t, codes=codes),
        )

    def close(
        self,
        incident_id: str,
        *,
        actor: Actor,
        code: str = "solved",
        caller_confirmed: bool | None = None,
        satisfaction: int | Satisfaction | None = None,
        satisfaction_comment: str | None = None,
    ) -> Incident:
        """Close a resolved incident with the caller's confirmation and a satisfaction score
        from 1 to 5 (optional, with a comment). With ``policies.cascade_resolution``, children
        reopened or attached since the resolution are resolved first, as :meth:`resolve`
        does: a closed parent has no open children."""
        rating: Satisfaction | None
        if satisfaction is None:
            if satisfaction_comment is not None:
                raise ValidationError("a satisfaction comment needs a satisfaction score",
                                      field="satisfaction_comment")
            rating = None
        elif isinstance(satisfaction, Satisfaction):
            if satisfaction_comment is not None:
                raise ValidationError("give the comment inside the Satisfaction, or a score "
                                      "with satisfaction_comment, not both",
                                      field="satisfaction_comment")
            rating = satisfaction
        else:
            rating = Satisfaction(satisfaction, satisfaction_comment)
        return self._on_family(
            "close", incident_id, actor,
            lambda i, a, t: i.close(actor=a, at=t, code=code, caller_confirmed=caller_confirmed,
                                    satisfaction=rating),
        )

    def reopen(self, incident_id: str, *, actor: Actor, reason: str) -> Incident:
        """Reopen a resolved incident (the reopen count goes up). With
        ``policies.cascade_resolution``, a child whose parent is closed is refused: detach it
        first (``set_parent(child_id, None)``), so that a closed parent has no open children.
        """

        def change(incident: Incident, a: Actor, t: datetime) -> None:
            self._refuse_reopen_under_closed_parent(incident)
            incident.reopen(reason=reason, actor=a, at=t)

        return self._on_incident("reopen", incident_id, actor, change)

    def cancel(self, incident_id: str, *, actor: Actor, reason: str) -> Incident:
        """Cancel an open incident."""
        return self._on_incident("cancel", incident_id, actor,
                                 lambda i, a, t: i.cancel(reason=reason, actor=a, at=t))

    def escalate(
        self,
        incident_id: str,
        *,
        actor: Actor,
        reason: str,
        kind: EscalationKind | str = EscalationKind.FUNCTIONAL,
        group: str | None = None,
    ) -> Incident:
        """Escalate an open incident.

        Functional: to ``group``, or else to the group the routing table names as the next
        tier of the current group (a reassignment). Hierarchical: management is informed (the
        current group's manager role, or ``policies.escalation_role``); nothing is reassigned.
        """
        try:
            how = EscalationKind(kind)
        except ValueError:
            raise ValidationError(f"unknown escalation kind {kind!r} "
                                  "(functional or hierarchical)", field="kind") from None
        routing = self.policies.routing

        def change(incident: Incident, a: Actor, t: datetime) -> None:
            current = incident.assignment_group
            known = routing is not None and current is not None and current in routing.groups
            if how is EscalationKind.HIERARCHICAL:
                role = None
                if known and routing is not None and current is not None:
                    role = routing.group(current).manager_role
                incident.escalate_hierarchically(
                    notified_role=role or self.policies.escalation_role,
                    reason=reason, actor=a, at=t)
                return
            if group is not None:
                target = check.identifier(group, "group")
                tier = routing.group(target).tier if routing is not None else None
            else:
                following = (routing.next_group(current)
                             if known and routing is not None and current is not None else None)
                if following is None:
                    raise ValidationError(
                        f"{incident.id} has no next group to escalate to from "
                        f"{current or 'no group'}; name a group", field="group")
                target, tier = following.name, following.tier
            incident.escalate_functionally(group=target, tier=tier, reason=reason,
                                           actor=a, at=t)

        return self._on_incident("escalate", incident_id, actor, change)

    def transition(self, incident_id: str, trigger: str, *, actor: Actor) -> Incident:
        """Fire a trigger of a host-defined workflow that has no dedicated command."""
        return self._on_incident("transition", incident_id, actor,
                                 lambda i, a, t: i.transition(trigger, actor=a, at=t))

    def set_custom_attribute(self, incident_id: str, name: str, value: CustomValue, *,
                             actor: Actor) -> Incident:
        """Set a host-defined attribute (None removes it)."""
        schema = self.policies.custom_fields
        return self._on_incident(
            "set_custom_attribute", incident_id, actor,
            lambda i, a, t: i.set_custom(name, value, actor=a, at=t, schema=schema),
        )

    # ----------------------------------------------------------------- links

    def link_change(self, incident_id: str, change_id: str, *, actor: Actor,
                    caused_by: bool = False) -> Incident:
        """Link a change (owned by the host): the one that caused the incident when
        ``caused_by``, otherwise a related one."""
        kind = (LinkKind.CAUSED_BY_CHANGE if self._flag(caused_by, "caused_by")
                else LinkKind.RELATED_CHANGE)
        return self._on_incident("link_change", incident_id, actor,
                                 lambda i, a, t: i.add_link(kind, change_id, actor=a, at=t))

    def link_related(self, incident_id: str, other_id: str, *, actor: Actor) -> Incident:
        """Relate two incidents (both records are updated, atomically)."""
        actor = check.actor(actor)

        def attempt() -> Incident:
            first = self._incident(incident_id)
            second = self._incident(other_id)
            self._authorize(actor, "link_related", first)
            now = self._now()
            first.add_link(LinkKind.RELATED_INCIDENT, second.id, actor=actor, at=now)
            second.add_link(LinkKind.RELATED_INCIDENT, first.id, actor=actor, at=now)
            self._commit([first, second])
            return first

        return self._attempt("link_related", attempt)

    def set_parent(self, child_id: str, parent_id: str | None, *, actor: Actor) -> Incident:
        """Make ``child_id`` a child of ``parent_id`` (None detaches it); the parents' child
        lists follow, atomically."""
        actor = check.actor(actor)
        child = self._incident(child_id)
        self._authorize(actor, "set_parent", child)
        now = self._now()
        records: list[Incident] = [child]
        old_parent_id = child.parent_id
        parent = self._incident(parent_id) if parent_id is not None else None
        if parent is not None:
            self._refuse_cycle(child.id, parent)
        child.set_parent(None if parent is None else parent.id, actor=actor, at=now)
        if old_parent_id is not None:
            old = self._incident(old_parent_id)
            if not old.is_terminal and child.id in old.child_ids:
                old.unlink_child(child.id, actor=actor, at=now)
                records.append(old)
        if parent is not None:
            parent.link_child(child.id, actor=actor, at=now)
            records.append(parent)
        self._commit(records)
        return child

    def _refuse_cycle(self, child_id: str, parent: Incident) -> None:
        """Refuse a parent that descends from the child: walk up the parent's ancestors."""
        seen = {parent.id}
        ancestor: str | None = parent.parent_id
        if parent.id == child_id:
            raise ValidationError("an incident cannot be its own parent", field="parent_id")
        while ancestor is not None:
            if ancestor == child_id:
                raise ValidationError(
                    f"{parent.id} is a child of {child_id} (directly or further down): "
                    "that would make a cycle",
                    field="parent_id")
            if ancestor in seen:  # a cycle stored earlier; do not loop forever
                break
            seen.add(ancestor)
            ancestor = self._incident(ancestor).parent_id

    def link_to_problem(self, incident_id: str, problem_id: str, *, actor: Actor) -> Incident:
        """Link an incident to the problem that causes it; the problem lists the incident.
        A link to another problem is moved."""
        actor = check.actor(actor)
        incident = self._incident(incident_id)
        problem = self._problem(problem_id)
        self._authorize(actor, "link_to_problem", incident)
        now = self._now()
        records: list[Any] = [incident, problem]
        previous = incident.problem_id
        incident.link_problem(problem.id, actor=actor, at=now)
        if incident.id not in problem.incident_ids:
            problem.link_incident(incident.id, actor=actor, at=now)
        if previous is not None:
            old = self._problem(previous)
            if not old.is_terminal and incident.id in old.incident_ids:
                old.unlink_incident(incident.id, actor=actor, at=now)
                records.append(old)
        self._commit(records)
        return incident

    def unlink_from_problem(self, incident_id: str, *, actor: Actor) -> Incident:
        """Remove the incident's link to its problem (on both records)."""
        actor = check.actor(actor)
        incident = self._incident(incident_id)
        self._authorize(actor, "unlink_from_problem", incident)
        now = self._now()
        records: list[Any] = [incident]
        previous = incident.problem_id
        incident.unlink_problem(actor=actor, at=now)
        if previous is not None:
            problem = self._problem(previous)
            if not problem.is_terminal and incident.id in problem.incident_ids:
                problem.unlink_incident(incident.id, actor=actor, at=now)
                records.append(problem)
        self._commit(records)
        return incident

    # ----------------------------------------------------------------- queries

    def get_incident(self, incident_id: str) -> Incident:
        """The incident ``incident_id`` (NotFoundError when there is none)."""
        return self._incident(incident_id)

    def timeline(self, record_id: str) -> list[DomainEvent]:
        """The events of an incident or problem, oldest first."""
        if not isinstance(record_id, str):
            raise ValidationError(f"record_id must be a string, got {record_id!r}",
                                  field="record_id")
        return self.repository.history_of(record_id)

    def list_incidents(
        self,
        *,
        status: str | Iterable[str] | None = None,
        priority: Priority | int | Iterable[Priority | int] | None = None,
        assignment_group: str | None = None,
        assignee: str | None = None,
        category: CategoryPath | str | None = None,
        service: str | None = None,
        open: bool | None = None,  # the natural name for this filter
        text: str | None = None,
        order_by: IncidentOrder | str = IncidentOrder.ID,
        descending: bool = False,
        after: PageCursor | str | None = None,
        limit: int | None = None,
    ) -> list[Incident]:
        """Incidents matching every given filter, ordered by ``order_by`` then id.

        ``status`` and ``priority`` take one value or several; ``category`` includes the
        categories below it; ``open`` True gives incidents neither resolved nor terminal;
        ``text`` is a caseless substring of the title or the description. ``order_by`` is
        ``"id"``, ``"logged_at"``, ``"updated_at"`` or ``"priority"`` (level 1 first), each
        ascending unless ``descending``; ``after`` (a cursor, or its encoded string) starts
        after that cursor's record; ``limit`` caps the number. For pages, see
        :meth:`page_incidents`.
        """
        query = self._incident_query(
            status=status, priority=priority, assignment_group=assignment_group,
            assignee=assignee, category=category, service=service, open=open, text=text,
            order_by=order_by, descending=descending, after=after, limit=positive_limit(limit))
        return self.repository.list_incidents(query)

    def page_incidents(
        self,
        *,
        status: str | Iterable[str] | None = None,
        priority: Priority | int | Iterable[Priority | int] | None = None,
        assignment_group: str | None = None,
        assignee: str | None = None,
        category: CategoryPath | str | None = None,
        service: str | None = None,
        open: bool | None = None,  # the natural name for this filter
        text: str | None = None,
        order_by: IncidentOrder | str = IncidentOrder.ID,
        descending: bool = False,
        after: PageCursor | str | None = None,
        limit: int = 50,
    ) -> Page[Incident]:
        """One page of :meth:`list_incidents`: up to ``limit`` (at most
        :data:`~itil_incident.MAX_PAGE_SIZE`) incidents and the cursor of the next page, None
        on the last page. Pass ``page.next_cursor`` (or ``.encode()`` of it) back as
        ``after``, with the same filters and order, for the next page: each incident is
        listed once across the pages, even when incidents change meanwhile, unless the
        ``order_by`` column of one changes (it then moves in the order).
        """
        size = page_size(limit)
        query = self._incident_query(
            status=status, priority=priority, assignment_group=assignment_group,
            assignee=assignee, category=category, service=service, open=open, text=text,
            order_by=order_by, descending=descending, after=after, limit=size + 1)
        return page_of(self.repository.list_incidents(query), size, query.cursor_after)

    def _incident_query(
        self, *, status: object, priority: object, assignment_group: object, assignee: object,
        category: object, service: object, open: object,  # the natural name for this filter
        text: object, order_by: IncidentOrder | str, descending: bool, after: object,
        limit: int | None,
    ) -> IncidentQuery:
        matrix = self.policies.priority_matrix
        workflow = self.policies.incident_workflow
        statuses = state_names(status, workflow)
        priorities: frozenset[Priority] | None = None
        if priority is not None:
            values = ([priority] if isinstance(priority, (Priority, int)) else
                      collection(priority, "priority"))
            priorities = frozenset(matrix.priority(p) for p in values)
        return IncidentQuery(
            status=statuses,
            priority=priorities,
            assignment_group=optional_id(assignment_group, "assignment_group"),
            assignee=optional_id(assignee, "assignee"),
            category=None if category is None else self._category(category),
            service=optional_id(service, "service"),
            open=None if open is None else self._flag(open, "open"),
            text=check.optional_text(text, "text", limit=500),
            order_by=order_by,
            descending=descending,
            after=as_cursor(after),
            limit=limit,
        )


def _channel(value: object) -> Channel:
    if isinstance(value, Channel):
        return value
    if isinstance(value, str):
        try:
            return Channel(value)
        except ValueError:
            pass
    known = ", ".join(c.value for c in Channel)
    raise ValidationError(f"unknown channel {value!r} (known: {known})", field="channel")
