"""The optional ``known_error_versions`` clause of the Repository contract
(:class:`~itil_incident.ports.KnownErrorVersions`), mixed into
:class:`~itil_incident.testing.RepositoryContract`. A repository without the method skips
these tests, save the one that checks a desk's offers over it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime

import pytest

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.desk import ServiceDesk
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor
from itil_incident.ports import IncidentQuery, ProblemQuery, Repository

__all__ = ["KnownErrorContract"]

_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
_AGENT = Actor("alice", "Alice", {"agent"})


class _WithoutVersions:
    """The same repository seen through the six methods of the port only: a desk over it
    lists the open known errors in full on every match."""

    def __init__(self, inner: Repository) -> None:
        self._inner = inner

    def get_incident(self, incident_id: str) -> Incident:
        return self._inner.get_incident(incident_id)

    def get_problem(self, problem_id: str) -> Problem:
        return self._inner.get_problem(problem_id)

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        self._inner.commit(records)

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        return self._inner.list_incidents(query)

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        return self._inner.list_problems(query)

    def history_of(self, record_id: str) -> list[DomainEvent]:
        return self._inner.history_of(record_id)


class _KnownErrors:
    """Ids of problems built to tell open known errors from every other problem."""

    def __init__(self, desk: ServiceDesk, clock: FrozenClock) -> None:
        a = _AGENT

        def known(title: str, service: str) -> str:
            clock.advance(minutes=3)
            problem = desk.open_problem(actor=a, title=title, service=service)
            desk.record_workaround(problem.id, f"Work around: {title}", actor=a)
            desk.mark_known_error(problem.id, actor=a, symptoms=f"{title} again")
            return problem.id

        self.plain = desk.open_problem(actor=a, title="Mail queue stalls nightly",
                                       service="email").id          # open, not a known error
        self.vpn = known("VPN tunnel drops", "vpn")                   # open known error
        self.erp = known("ERP locks pile up", "erp")                  # open known error
        self.resolved = known("Printer spooler hangs", "printing")    # resolved
        desk.resolve_problem(self.resolved, "Spooler patched", actor=a)
        self.closed = known("Wi-Fi roaming fails", "wifi")            # closed
        desk.resolve_problem(self.closed, "Controller upgraded", actor=a)
        desk.close_problem(self.closed, actor=a)
        self.cancelled = known("Badge reader slow", "badges")         # cancelled
        desk.cancel_problem(self.cancelled, actor=a, reason="Not a problem")
        self.reopened = known("Payroll export truncates", "payroll")  # resolved, reopened
        desk.resolve_problem(self.reopened, "Export fixed", actor=a)
        desk.reopen_problem(self.reopened, actor=a, reason="Truncated again")

    @property
    def open_known_errors(self) -> list[str]:
        return sorted([self.vpn, self.erp, self.reopened])


class KnownErrorContract:
    """Tests the optional ``known_error_versions`` method of a repository, and that a desk
    offers the same workarounds whether its repository has the method or not."""

    def make_repository(self) -> Repository:
        """A new, empty repository to test."""
        raise NotImplementedError("implement make_repository() in your subclass")

    def _known_error_desk(self, repository: Repository) -> tuple[ServiceDesk, FrozenClock]:
        from itil_incident.testing import make_desk  # the package imports this module

        clock = FrozenClock(_START)
        return make_desk(repository=repository, clock=clock), clock

    @staticmethod
    def _versions(repository: Repository) -> Callable[[], Mapping[str, int]]:
        reader = getattr(repository, "known_error_versions", None)
        if not callable(reader):
            pytest.skip(f"{type(repository).__name__} has no known_error_versions (optional)")
        found: Callable[[], Mapping[str, int]] = reader
        return found

    def test_known_error_versions_lists_each_open_known_error_at_its_version(self) -> None:
        repository = self.make_repository()
        versions = self._versions(repository)
        made = _KnownErrors(*self._known_error_desk(repository))
        listed = versions()
        assert sorted(listed) == made.open_known_errors
        for problem_id, version in listed.items():
            assert version == repository.get_problem(problem_id).version
        assert dict(listed) == {
            p.id: p.version
            for p in repository.list_problems(ProblemQuery(known_error=True, open=True))}

    def test_known_error_versions_follows_every_change(self) -> None:
        repository = self.make_repository()
        versions = self._versions(repository)
        desk, clock = self._known_error_desk(repository)
        assert dict(versions()) == {}
        made = _KnownErrors(desk, clock)
        before = versions()[made.vpn]
        clock.advance(minutes=5)
        revised = desk.record_workaround(made.vpn, "Reconnect with the new profile",
                                         actor=_AGENT)
        assert versions()[made.vpn] == revised.version > before
        desk.resolve_problem(made.erp, "Index added", actor=_AGENT)
        desk.record_workaround(made.plain, "Flush the queue", actor=_AGENT)
        desk.mark_known_error(made.plain, actor=_AGENT)
        assert sorted(versions()) == sorted([made.vpn, made.reopened, made.plain])

    def test_known_error_versions_returns_a_mapping_of_its_own(self) -> None:
        repository = self.make_repository()
        versions = self._versions(repository)
        made = _KnownErrors(*self._known_error_desk(repository))
        first = versions()
        if isinstance(first, MutableMapping):
            first[made.plain] = 99
            del first[made.vpn]
        assert sorted(versions()) == made.open_known_errors

    def test_a_desk_offers_what_a_full_scan_offers(self) -> None:
        repository = self.make_repository()
        desk, clock = self._known_error_desk(repository)
        scanning = ServiceDesk(_WithoutVersions(repository), clock=clock, ids=desk.ids)
        made = _KnownErrors(desk, clock)

        def offers(via: ServiceDesk, title: str, service: str) -> tuple[object, object]:
            incident = via.log_incident(actor=_AGENT, title=title, service=service)
            matches = via.known_error_matches(incident.id, actor=_AGENT)
            offered = via.get_incident(incident.id).workaround_offers
            return ([(m.problem_id, m.score, m.reasons, m.workaround) for m in matches],
                    [(o.problem_id, o.workaround, o.score, o.reasons) for o in offered])

        cases = [("VPN tunnel drops again", "vpn"), ("ERP locks at month end", "erp"),
                 ("Printer spooler hangs", "printing"), ("Payroll export truncates", "payroll"),
                 ("Nothing in common here", "desktop")]
        for title, service in cases:
            assert offers(desk, title, service) == offers(scanning, title, service)
        offered = {o.problem_id for i in repository.list_incidents(IncidentQuery())
                   for o in i.workaround_offers}
        assert offered == {made.vpn, made.erp, made.reopened}

    def test_a_known_error_published_through_another_desk_is_offered(self) -> None:
        repository = self.make_repository()
        desk, clock = self._known_error_desk(repository)
        other = ServiceDesk(repository, clock=clock, ids=desk.ids)
        made = _KnownErrors(desk, clock)
        desk.log_incident(actor=_AGENT, title="VPN tunnel drops", service="vpn")  # read them
        other.record_workaround(made.plain, "Flush the mail queue", actor=_AGENT)
        other.mark_known_error(made.plain, actor=_AGENT, symptoms="Mail queue stalls")
        other.record_workaround(made.vpn, "Use the backup gateway", actor=_AGENT)
        other.resolve_problem(made.erp, "Index added", actor=_AGENT)
        mail = desk.log_incident(actor=_AGENT, title="Mail queue stalls", service="email")
        vpn = desk.log_incident(actor=_AGENT, title="VPN tunnel drops", service="vpn")
        erp = desk.log_incident(actor=_AGENT, title="ERP locks pile up", service="erp")
        assert [(o.problem_id, o.workaround) for o in mail.workaround_offers] == [
            (made.plain, "Flush the mail queue")]
        assert [(o.problem_id, o.workaround) for o in vpn.workaround_offers] == [
            (made.vpn, "Use the backup gateway")]
        assert erp.workaround_offers == ()
