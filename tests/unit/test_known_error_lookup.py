"""How the desk reads the known errors it matches incidents against: through the repository's
optional ``known_error_versions`` (reading again only what changed), or, for a host repository
without it, by listing every open known error on each match, as before the method existed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from itil_incident import (
    Actor,
    DomainEvent,
    FrozenClock,
    Incident,
    IncidentQuery,
    InMemoryRepository,
    KnownErrorMatcher,
    NotFoundError,
    Problem,
    ProblemQuery,
    Repository,
    ServiceDesk,
)
from itil_incident.policies.known_errors import Facets, KnownErrorEntry, KnownErrorIndex
from itil_incident.ports import KnownErrorVersions

AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class HostRepository:
    """A minimal host repository: the six methods of the port, over an in-memory one, each
    call counted."""

    def __init__(self) -> None:
        self.inner = InMemoryRepository()
        self.calls: Counter[str] = Counter()

    def get_incident(self, incident_id: str) -> Incident:
        return self.inner.get_incident(incident_id)

    def get_problem(self, problem_id: str) -> Problem:
        self.calls["get_problem"] += 1
        return self.inner.get_problem(problem_id)

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        self.inner.commit(records)

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        return self.inner.list_incidents(query)

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        self.calls["list_problems"] += 1
        return self.inner.list_problems(query)

    def history_of(self, record_id: str) -> list[DomainEvent]:
        return self.inner.history_of(record_id)


class VersionedHostRepository(HostRepository):
    """The same, with the optional ``known_error_versions``."""

    def known_error_versions(self) -> dict[str, int]:
        self.calls["known_error_versions"] += 1
        return self.inner.known_error_versions()


class MisKeyedRepository(VersionedHostRepository):
    """Lists one known error under a key that ``get_problem`` does not find (as an SQL
    column holding a sanitized id would)."""

    def known_error_versions(self) -> dict[str, int]:
        return {f"{key}\ufffd": version
                for key, version in super().known_error_versions().items()}


def desk_over(repository: Repository, clock: FrozenClock | None = None) -> ServiceDesk:
    return ServiceDesk(repository, clock=clock or FrozenClock(T0))


def publish(desk: ServiceDesk, title: str, service: str, workaround: str) -> str:
    problem = desk.open_problem(actor=AGENT, title=title, service=service)
    desk.record_workaround(problem.id, workaround, actor=AGENT)
    desk.mark_known_error(problem.id, actor=AGENT)
    return problem.id


def offered(desk: ServiceDesk, title: str, service: str) -> list[tuple[str, str]]:
    incident = desk.log_incident(actor=AGENT, title=title, service=service)
    return [(o.problem_id, o.workaround) for o in incident.workaround_offers]


def test_both_shipped_repositories_and_a_host_s_may_list_known_error_versions() -> None:
    assert isinstance(InMemoryRepository(), KnownErrorVersions)
    assert isinstance(VersionedHostRepository(), KnownErrorVersions)
    assert not isinstance(HostRepository(), KnownErrorVersions)
    assert isinstance(HostRepository(), Repository)  # the method stays optional


def test_without_the_method_every_log_lists_the_open_known_errors() -> None:
    repository = HostRepository()
    desk = desk_over(repository)
    vpn = publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    repository.calls.clear()
    offered(desk, "VPN tunnel drops", "vpn")
    offered(desk, "Printer jams", "printing")
    assert repository.calls["list_problems"] == 2


def test_with_the_method_known_errors_that_did_not_change_are_not_read_again() -> None:
    repository = VersionedHostRepository()
    desk = desk_over(repository)
    vpn = publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    repository.calls.clear()
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    offered(desk, "Printer jams", "printing")
    assert repository.calls == Counter({"known_error_versions": 2})


def test_a_changed_known_error_is_read_again_and_its_new_workaround_offered() -> None:
    repository = VersionedHostRepository()
    desk = desk_over(repository)
    vpn = publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    mail = publish(desk, "Mail outbox stuck", "mail", "Restart the client")
    offered(desk, "VPN tunnel drops", "vpn")
    desk.record_workaround(vpn, "Use the backup gateway", actor=AGENT)
    repository.calls.clear()
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Use the backup gateway")]
    assert repository.calls == Counter({"known_error_versions": 1, "get_problem": 1})
    assert offered(desk, "Mail outbox stuck", "mail") == [(mail, "Restart the client")]


def test_a_resolved_known_error_is_dropped_and_a_new_one_is_offered() -> None:
    repository = VersionedHostRepository()
    desk = desk_over(repository)
    vpn = publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    offered(desk, "VPN tunnel drops", "vpn")
    desk.resolve_problem(vpn, "Firmware fixed", actor=AGENT)
    assert offered(desk, "VPN tunnel drops", "vpn") == []
    gateway = publish(desk, "VPN gateway drops tunnels", "vpn", "Fail over")
    assert offered(desk, "VPN tunnel drops", "vpn") == [(gateway, "Fail over")]


def test_many_changes_at_once_are_read_in_one_listing() -> None:
    repository = VersionedHostRepository()
    desk = desk_over(repository)
    ids = [publish(desk, f"Fault {n} in queue{n}", "vpn", f"Fix {n}") for n in range(10)]
    repository.calls.clear()
    assert offered(desk, "queue3 fault", "vpn") == [(ids[3], "Fix 3")]
    assert repository.calls == Counter({"known_error_versions": 1, "list_problems": 1})


def test_listed_keys_that_are_not_ids_fall_back_to_the_full_listing() -> None:
    repository = MisKeyedRepository()
    desk = desk_over(repository)
    vpn = publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    repository.calls.clear()
    assert offered(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    assert repository.calls["list_problems"] == 0  # the listing did not change


def test_a_problem_that_stopped_being_an_open_known_error_once_listed_is_not_offered() -> None:
    class Late(VersionedHostRepository):
        """Lists the known error, which another desk resolves before it is read."""

        def known_error_versions(self) -> dict[str, int]:
            listed = super().known_error_versions()
            for problem_id in listed:
                if self.inner.get_problem(problem_id).is_open:
                    other.resolve_problem(problem_id, "Fixed meanwhile", actor=AGENT)
            return listed

    repository = Late()
    other = desk_over(repository.inner)
    publish(other, "VPN tunnel drops", "vpn", "Reconnect")
    assert offered(desk_over(repository), "VPN tunnel drops", "vpn") == []


def test_a_desk_copy_made_with_retry_shares_what_the_desk_read() -> None:
    repository = VersionedHostRepository()
    desk = desk_over(repository)
    publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    offered(desk, "VPN tunnel drops", "vpn")
    repository.calls.clear()
    offered(desk.with_retry(None), "VPN tunnel drops", "vpn")
    assert repository.calls == Counter({"known_error_versions": 1})


# -- the index --------------------------------------------------------------------------------


def entry(problem_id: str, **facets: object) -> KnownErrorEntry:
    return KnownErrorEntry(problem_id, 1, problem_id, "Work around",
                           Facets.of(**facets))  # type: ignore[arg-type]  # test data


@pytest.mark.parametrize(("incident", "expected"), [
    (Facets.of(service="VPN"), ["PRB1"]),
    (Facets.of(configuration_items=["gw-2", "mx-1"]), ["PRB2", "PRB3"]),
    (Facets.of(category="Network/VPN/Client"), ["PRB1", "PRB4"]),
    (Facets.of(category="Network"), ["PRB4"]),
    (Facets.of(title="the outbox is stuck"), ["PRB3"]),
    (Facets.of(service="printing", title="nothing shared"), []),
])
def test_the_index_finds_every_known_error_in_contact_with_the_incident(
    incident: Facets, expected: list[str]
) -> None:
    index = KnownErrorIndex([
        entry("PRB1", service="vpn", category="Network/VPN"),
        entry("PRB2", configuration_items=["gw-2"]),
        entry("PRB3", configuration_items=["mx-1"], title="Outbox stuck"),
        entry("PRB4", category="Network"),
    ])
    assert [e.problem_id for e in index.candidates(incident)] == expected


def test_with_a_matcher_the_index_keeps_only_known_errors_reaching_its_threshold() -> None:
    index = KnownErrorIndex([
        entry("PRB1", service="vpn", title="tunnel drops"),  # service 2 + 2 keywords
        entry("PRB2", service="vpn", title="tunnel"),        # service 2 + 1 keyword
        entry("PRB3", title="tunnel drops firmware"),        # 3 keywords
    ])
    incident = Facets.of(service="vpn", title="tunnel drops after firmware")
    matcher = KnownErrorMatcher()
    assert [e.problem_id for e in index.candidates(incident, matcher)] == ["PRB1"]
    assert [e.problem_id for e in index.candidates(
        incident, KnownErrorMatcher(min_score=3))] == ["PRB1", "PRB2", "PRB3"]
    assert [m.problem_id for m in matcher.rank(incident, index.entries.values())] == ["PRB1"]


def test_an_index_knows_the_versions_it_was_built_from() -> None:
    first = entry("PRB1", service="vpn")
    assert KnownErrorIndex([first]).source == {"PRB1": 1}
    assert KnownErrorIndex([first], source={"PRB1": 1, "PRB9": 4}).source == {
        "PRB1": 1, "PRB9": 4}
    assert len(KnownErrorIndex([])) == 0


def test_not_found_on_a_listed_key_is_not_an_error_for_the_caller() -> None:
    repository = MisKeyedRepository()
    desk = desk_over(repository)
    publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    with pytest.raises(NotFoundError):
        repository.get_problem(next(iter(repository.known_error_versions())))
    incident = desk.log_incident(actor=AGENT, title="VPN tunnel drops", service="vpn")
    assert [m.problem_id for m in desk.known_error_matches(incident.id, actor=AGENT)] == [
        incident.workaround_offers[0].problem_id]


def test_a_desk_given_another_repository_does_not_reuse_what_it_read_of_the_first() -> None:
    first, second = VersionedHostRepository(), VersionedHostRepository()
    desk = desk_over(first)
    publish(desk, "VPN tunnel drops", "vpn", "Reconnect")
    offered(desk, "VPN tunnel drops", "vpn")
    other = desk_over(second)
    publish(other, "Printer tray jams", "printing", "Open the tray")  # same id and version
    assert first.known_error_versions() == second.known_error_versions()
    desk.repository = second
    assert [w for _, w in offered(desk, "Printer tray jams", "printing")] == ["Open the tray"]
