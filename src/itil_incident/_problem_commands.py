"""The service desk's problem-management commands (mixed into :class:`ServiceDesk`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from itil_incident._desk_core import optional_id, positive_limit, state_names
from itil_incident._family_commands import FamilyCommands, IncidentBatch
from itil_incident._known_error_lookup import OPEN_KNOWN_ERRORS, current_index, version_reader
from itil_incident._paging import (
    Page,
    PageCursor,
    ProblemOrder,
    as_cursor,
    page_of,
    page_size,
)
from itil_incident.domain import _checks as check
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath, HoldReason, Impact, Urgency
from itil_incident.errors import InvalidTransitionError, ValidationError
from itil_incident.policies.known_errors import (
    Facets,
    KnownErrorIndex,
    KnownErrorMatch,
    KnownErrorMatcher,
)
from itil_incident.policies.problem_resolution import OnProblemResolved
from itil_incident.ports import ProblemQuery

__all__ = ["ProblemCommands"]


class ProblemCommands(FamilyCommands):
    """Problem management: open from incidents, investigate, known errors, resolve, close."""

    #: The open known errors as last read, with the repository they were read from (None:
    #: not read yet, or it cannot list their versions); replaced whole, never changed.
    _known_error_index: tuple[object, KnownErrorIndex] | None = None

    def open_problem(
        self,
        *,
        actor: Actor,
        title: str,
        description: str = "",
        incident_ids: Iterable[str] = (),
        service: str | None = None,
        configuration_items: Iterable[str] | None = None,
        category: CategoryPath | str | None = None,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
        assignment_group: str | None = None,
    ) -> Problem:
        """Open a problem, optionally from incidents, which are linked to it (atomically).

        Service, configuration items and category default to those of the first incident.
        """
        actor = check.actor(actor)
        self._authorize(actor, "open_problem", None)
        ids = check.text_tuple(incident_ids, "incident_ids")
        incidents = [self._incident(i) for i in ids]
        for incident in incidents:
            if incident.is_terminal:
                raise ValidationError(f"{incident.id} is {incident.status}; it cannot be linked",
                                      field="incident_ids")
        first = incidents[0] if incidents else None
        path = self._category(category) if category is not None else (
            first.category if first is not None else None)
        now = self._now()
        problem = Problem.open(
            problem_id=self.ids.next_problem_id,
            workflow=self.policies.problem_workflow,
            matrix=self.policies.problem_priority_matrix,
            actor=actor,
            at=now,
            title=title,
            description=description,
            service=service if service is not None or first is None else first.service,
            configuration_items=(configuration_items if configuration_items is not None
                                 else (first.configuration_items if first is not None else ())),
            category=path,
            impact=impact,
            urgency=urgency,
            assignment_group=assignment_group,
            incident_ids=ids,
        )
        records: list[Any] = [problem]
        previous_problems: dict[str, Problem] = {}
        for incident in incidents:
            previous = incident.problem_id
            incident.link_problem(problem.id, actor=actor, at=now)
            records.append(incident)
            if previous is not None:
                old = previous_problems.get(previous)
                if old is None:
                    old = previous_problems[previous] = self._problem(previous)
                    records.append(old)
                if not old.is_terminal and incident.id in old.incident_ids:
                    old.unlink_incident(incident.id, actor=actor, at=now)
        self._commit(records)
        return problem

    def assign_problem(self, problem_id: str, *, actor: Actor, group: str | None = None,
                       assignee: str | None = None) -> Problem:
        """Give the problem to a group and/or an owner."""
        return self._on_problem(
            "assign_problem", problem_id, actor,
            lambda p, a, t: p.assign(actor=a, at=t, group=group, assignee=assignee))

    def start_investigation(self, problem_id: str, *, actor: Actor) -> Problem:
        """Start root-cause analysis."""
        return self._on_problem("start_investigation", problem_id, actor,
                                lambda p, a, t: p.start_investigation(actor=a, at=t))

    def record_root_cause(self, problem_id: str, root_cause: str, *, actor: Actor,
                          category: CategoryPath | str | None = None) -> Problem:
        """Record (or revise) the root cause, optionally with a root-cause category."""
        path = None if category is None else self._category(category)
        return self._on_problem(
            "record_root_cause", problem_id, actor,
            lambda p, a, t: p.record_root_cause(root_cause, actor=a, at=t, category=path))

    def record_workaround(self, problem_id: str, workaround: str, *, actor: Actor) -> Problem:
        """Record (or revise) a workaround."""
        return self._on_problem(
            "record_workaround", problem_id, actor,
            lambda p, a, t: p.record_workaround(workaround, actor=a, at=t))

    def mark_known_error(self, problem_id: str, *, actor: Actor,
                         symptoms: str | None = None) -> Problem:
        """Publish the problem as a known error (needs a root cause or a workaround)."""
        return self._on_problem(
            "mark_known_error", problem_id, actor,
            lambda p, a, t: p.mark_known_error(actor=a, at=t, symptoms=symptoms))

    def change_problem_impact_urgency(
        self, problem_id: str, *, actor: Actor, impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
    ) -> Problem:
        """Change a problem's impact and/or urgency (its own priority matrix)."""
        matrix = self.policies.problem_priority_matrix
        return self._on_problem(
            "change_problem_impact_urgency", problem_id, actor,
            lambda p, a, t: p.reprioritize(matrix, actor=a, at=t, impact=impact,
                                           urgency=urgency))

    def add_problem_note(self, problem_id: str, text: str, *, actor: Actor) -> Problem:
        """Add an investigation note."""
        return self._on_problem("add_problem_note", problem_id, actor,
                                lambda p, a, t: p.add_note(text, actor=a, at=t))

    def resolve_problem(self, problem_id: str, resolution: str, *, actor: Actor) -> Problem:
        """The root cause is removed.

        The incidents linked to the problem and on hold awaiting it (hold reason
        ``awaiting_problem``) are then resolved or resumed, or left alone, as
        ``policies.on_problem_resolved`` says; each event names the problem. A resolved
        incident's open children follow it (``policies.cascade_resolution``). Everything is
        saved atomically; an incident the workflow cannot move refuses the whole command
        (:class:`~itil_incident.InvalidTransitionError` naming it).
        """
        actor = check.actor(actor)

        def attempt() -> Problem:
            problem = self._problem(problem_id)
            self._authorize(actor, "resolve_problem", problem)
            now = self._now()
            problem.resolve(resolution, actor=actor, at=now)
            batch = IncidentBatch(self._incident)
            effect = self.policies.on_problem_resolved
            if effect is not OnProblemResolved.NOTHING:
                for incident_id in problem.incident_ids:
                    self._release(batch.get(incident_id), problem, effect, batch, actor, now)
            self._commit([problem, *batch.changed()])
            return problem

        return self._attempt("resolve_problem", attempt)

    def _release(self, incident: Incident, problem: Problem, effect: OnProblemResolved,
                 batch: IncidentBatch, actor: Actor, now: datetime) -> None:
        """Resolve or resume ``incident`` when it is on hold awaiting ``problem``."""
        if (incident.problem_id != problem.id or incident.is_terminal
                or incident.hold_reason != HoldReason.AWAITING_PROBLEM):
            return
        policies = self.policies
        resolving = effect is OnProblemResolved.RESOLVE
        self._authorize(actor, "resolve" if resolving else "resume", incident)
        try:
            if resolving:
                incident.resolve_for_problem(
                    problem_id=problem.id, code=policies.problem_resolution_code,
                    notes=f"{problem.id} resolved: {problem.resolution}", actor=actor, at=now,
                    codes=policies.resolution_codes)
            else:
                incident.resume_for_problem(problem_id=problem.id, actor=actor, at=now)
        except InvalidTransitionError as refused:
            raise InvalidTransitionError(
                incident.status, refused.trigger, refused.allowed,
                reason=f"{incident.id}, on hold awaiting {problem.id}, cannot be "
                       f"{'resolved' if resolving else 'resumed'} from {incident.status!r}; "
                       "move it first, or change policies.on_problem_resolved") from None
        if resolving and policies.cascade_resolution:
            self._cascade(incident, batch, actor, now)

    # ----------------------------------------------------------------- known errors

    def known_error_matches(self, incident_id: str, *, actor: Actor) -> list[KnownErrorMatch]:
        """The open known errors matching the incident, best first, scored and explained by
        ``policies.known_errors`` (none when it is None).

        For an open incident, the workarounds of the best ``max_offers`` matches that have
        one are offered, unless offered before: each offer is an
        ``incident.workaround_offered`` event, recorded once per problem.
        :meth:`log_incident` does the same for a new incident.
        """
        actor = check.actor(actor)
        incident = self._incident(incident_id)
        self._authorize(actor, "known_error_matches", incident)
        matcher = self.policies.known_errors
        if matcher is None:
            return []
        matches = self._matches(incident, matcher)
        if incident.is_open:
            self._offer(incident, matches, actor, self._now())
            if incident.pending_events():
                self._commit([incident])
        return matches

    def apply_workaround(self, incident_id: str, problem_id: str, *, actor: Actor) -> Incident:
        """Record that the workaround of the known error ``problem_id`` was applied to the
        open incident (``incident.workaround_applied``, with the workaround's text). An
        incident linked to no problem is linked to this one (atomically)."""
        actor = check.actor(actor)
        incident = self._incident(incident_id)
        problem = self._problem(problem_id)
        self._authorize(actor, "apply_workaround", incident)
        if not problem.known_error or problem.workaround is None:
            raise ValidationError(f"{problem.id} is not a known error with a workaround",
                                  field="problem_id")
        now = self._now()
        incident.apply_workaround(problem_id=problem.id, workaround=problem.workaround,
                                  actor=actor, at=now)
        records: list[Any] = [incident]
        if incident.problem_id is None and not problem.is_terminal:
            incident.link_problem(problem.id, actor=actor, at=now)
            if incident.id not in problem.incident_ids:
                problem.link_incident(incident.id, actor=actor, at=now)
                records.append(problem)
        self._commit(records)
        return incident

    def _matches(self, incident: Incident, matcher: KnownErrorMatcher) -> list[KnownErrorMatch]:
        """The open known errors matching ``incident``: through the desk's index of them when
        the repository lists their versions (see :mod:`itil_incident._known_error_lookup`),
        else by scoring every one of them."""
        reader = version_reader(self.repository)
        if reader is None:
            return matcher.matches(incident, self.repository.list_problems(OPEN_KNOWN_ERRORS))
        repository, last = self._known_error_index or (None, None)
        index = current_index(self.repository, reader,
                              last if repository is self.repository else None)
        self._known_error_index = (self.repository, index)
        if not index:
            return []
        facets = Facets.of_incident(incident)
        return matcher.rank(facets, index.candidates(facets, matcher))

    def _offer_known_errors(self, incident: Incident, actor: Actor, at: datetime) -> None:
        """Offer the workarounds of the known errors matching a new incident (see
        :meth:`known_error_matches`)."""
        matcher = self.policies.known_errors
        if matcher is not None and self.policies.known_errors_on_log:
            self._offer(incident, self._matches(incident, matcher), actor, at)

    def _offer(self, incident: Incident, matches: list[KnownErrorMatch], actor: Actor,
               at: datetime) -> None:
        """Offer the workarounds of the best ``max_offers`` matches that have one, except
        those offered before."""
        matcher = self.policies.known_errors
        limit = 0 if matcher is None else matcher.max_offers
        offered = {offer.problem_id for offer in incident.workaround_offers}
        best = [match for match in matches if match.workaround is not None][:limit]
        for match in best:
            if match.workaround is not None and match.problem_id not in offered:
                incident.offer_workaround(
                    problem_id=match.problem_id, workaround=match.workaround,
                    score=match.score, reasons=match.reasons, actor=actor, at=at)

    # ----------------------------------------------------------------- changes

    def link_problem_change(self, problem_id: str, change_id: str, *, actor: Actor,
                            title: str) -> Problem:
        """Link a change raised to fix the problem; the change belongs to the host, which
        gives its id and title."""
        return self._on_problem(
            "link_problem_change", problem_id, actor,
            lambda p, a, t: p.link_change(change_id, title=title, actor=a, at=t))

    def unlink_problem_change(self, problem_id: str, change_id: str, *, actor: Actor
                              ) -> Problem:
        """Remove a change linked with :meth:`link_problem_change`."""
        return self._on_problem(
            "unlink_problem_change", problem_id, actor,
            lambda p, a, t: p.unlink_change(change_id, actor=a, at=t))

    def close_problem(self, problem_id: str, *, actor: Actor) -> Problem:
        """Close a resolved problem."""
        return self._on_problem("close_problem", problem_id, actor,
                                lambda p, a, t: p.close(actor=a, at=t))

    def reopen_problem(self, problem_id: str, *, actor: Actor, reason: str) -> Problem:
        """Reopen a resolved problem."""
        return self._on_problem("reopen_problem", problem_id, actor,
                                lambda p, a, t: p.reopen(reason=reason, actor=a, at=t))

    def cancel_problem(self, problem_id: str, *, actor: Actor, reason: str) -> Problem:
        """Cancel a problem."""
        return self._on_problem("cancel_problem", problem_id, actor,
                                lambda p, a, t: p.cancel(reason=reason, actor=a, at=t))

    def get_problem(self, problem_id: str) -> Problem:
        """The problem ``problem_id`` (NotFoundError when there is none)."""
        return self._problem(problem_id)

    def list_problems(
        self,
        *,
        status: str | Iterable[str] | None = None,
        service: str | None = None,
        known_error: bool | None = None,
        open: bool | None = None,  # the natural name for this filter
        text: str | None = None,
        order_by: ProblemOrder | str = ProblemOrder.ID,
        descending: bool = False,
        after: PageCursor | str | None = None,
        limit: int | None = None,
    ) -> list[Problem]:
        """Problems matching every given filter, ordered by ``order_by`` (``"id"``,
        ``"opened_at"``, ``"updated_at"`` or ``"priority"``) then id, ascending unless
        ``descending``; ``after`` and ``limit`` as for
        :meth:`~itil_incident.ServiceDesk.list_incidents`."""
        query = self._problem_query(status=status, service=service, known_error=known_error,
                                    open=open, text=text, order_by=order_by,
                                    descending=descending, after=after,
                                    limit=positive_limit(limit))
        return self.repository.list_problems(query)

    def page_problems(
        self,
        *,
        status: str | Iterable[str] | None = None,
        service: str | None = None,
        known_error: bool | None = None,
        open: bool | None = None,  # the natural name for this filter
        text: str | None = None,
        order_by: ProblemOrder | str = ProblemOrder.ID,
        descending: bool = False,
        after: PageCursor | str | None = None,
        limit: int = 50,
    ) -> Page[Problem]:
        """One page of :meth:`list_problems` and the cursor of the next one (None on the
        last page), as :meth:`~itil_incident.ServiceDesk.page_incidents` does."""
        size = page_size(limit)
        query = self._problem_query(status=status, service=service, known_error=known_error,
                                    open=open, text=text, order_by=order_by,
                                    descending=descending, after=after, limit=size + 1)
        return page_of(self.repository.list_problems(query), size, query.cursor_after)

    def _problem_query(
        self, *, status: object, service: object, known_error: object,
        open: object,  # the natural name for this filter
        text: object, order_by: ProblemOrder | str, descending: bool, after: object,
        limit: int | None,
    ) -> ProblemQuery:
        return ProblemQuery(
            status=state_names(status, self.policies.problem_workflow),
            service=optional_id(service, "service"),
            known_error=None if known_error is None else self._flag(known_error, "known_error"),
            open=None if open is None else self._flag(open, "open"),
            text=check.optional_text(text, "text", limit=500),
            order_by=order_by,
            descending=descending,
            after=as_cursor(after),
            limit=limit,
        )
