"""The event-log importer on small logs written by each test: CSV and XES sources, strict and
lenient replay, anomalies on the incident, conformance counts, row errors with row numbers,
time zones and malformed input."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from itil_incident import (
    Incident,
    IncidentPriorityOverridden,
    IncidentPutOnHold,
    Priority,
    StateDef,
    TransitionDef,
    ValidationError,
    Workflow,
)
from itil_incident.reporting.importing import (
    ANOMALY_PREFIX,
    IMPORT_ACTOR,
    AnomalyKind,
    CsvSource,
    ImportMappingError,
    ImportResult,
    ImportSourceError,
    LogMapping,
    MemorySource,
    ProgressBar,
    ReplayMode,
    Step,
    XesSource,
    import_anomalies,
    import_log,
    servicenow_mapping,
    stderr_progress,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HEADER = "id,time,state,group,who,impact,by"
STEPS = {
    "New": Step(states=("new", "assigned")),
    "Work": Step(states="in_progress"),
    "Take": Step(states="in_progress", take=True),
    "Wait": Step(states="on_hold", hold_reason="awaiting_caller"),
    "Vendor": Step(states="on_hold", hold_reason="awaiting_vendor"),
    "Done": Step(states="resolved", code="fixed"),
    "Closed": Step(states="closed"),
    "Call": Step(note=True),
    "Touch": Step(),
}
MAPPING = LogMapping(
    name="tiny", case="id", timestamp="time", label="state", timezone=UTC,
    missing=frozenset({"", "?"}), assignment_group="group", assignee="who", impact="impact",
    actor="by", steps=STEPS,
)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def line(case: str, minute: int, state: str, group: str = "", who: str = "",
         impact: str = "", by: str = "alice") -> str:
    """One CSV row of the tiny log, ``minute`` minutes after T0 (naive: read as UTC)."""
    naive = at(minute).replace(tzinfo=None).isoformat()
    return f"{case},{naive},{state},{group},{who},{impact},{by}"


def csv_file(tmp_path: Path, lines: Sequence[str], header: str = HEADER) -> CsvSource:
    path = tmp_path / "log.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return CsvSource(path)


def replay(tmp_path: Path, lines: Sequence[str], mode: str = "lenient",
           mapping: LogMapping = MAPPING) -> ImportResult:
    return import_log(csv_file(tmp_path, lines), mapping, mode=mode)


def kinds(incident: Incident) -> list[str]:
    """The class names of the incident's events, oldest first."""
    return [type(event).__name__ for event in incident.timeline()]


def only(result: ImportResult) -> Incident:
    (incident,) = result.incidents.values()
    return incident


# ---------------------------------------------------------------- replay of a conforming log

CONFORMING = [
    line("A", 0, "New", group="desk"),
    line("A", 5, "Work"),
    line("A", 10, "Wait"),
    line("A", 20, "Work"),
    line("A", 30, "Done"),
    line("A", 60, "Closed"),
]


def test_a_conforming_history_replays_each_row_as_its_command(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, CONFORMING))
    assert kinds(incident) == ["IncidentLogged", "IncidentAssigned", "IncidentWorkStarted",
                               "IncidentPutOnHold", "IncidentResumed", "IncidentResolved",
                               "IncidentClosed"]


def test_each_event_is_replayed_at_the_time_its_row_gives(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, CONFORMING))
    assert [event.at for event in incident.timeline()] == [
        at(0), at(0), at(5), at(10), at(20), at(30), at(60)]


def test_a_conforming_log_counts_every_case_as_conforming(tmp_path: Path) -> None:
    report = replay(tmp_path, CONFORMING, mode="strict").report
    assert (report.cases, report.conforming_cases, report.forbidden_total) == (1, 1, 0)


def test_the_step_gives_the_hold_reason_and_the_resolution_code(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, CONFORMING[:5]))
    hold = next(e for e in incident.timeline() if isinstance(e, IncidentPutOnHold))
    assert (hold.hold_reason, incident.resolution_code) == ("awaiting_caller", "fixed")


def test_a_new_hold_reason_while_on_hold_replays_as_resume_and_hold(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Wait"), line("A", 9, "Vendor")]
    incident = only(replay(tmp_path, lines, mode="strict"))
    assert kinds(incident)[-2:] == ["IncidentResumed", "IncidentPutOnHold"]
    assert incident.hold_reason == "awaiting_vendor"


def test_rows_repeating_the_state_add_no_events(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Work"), line("A", 6, "Work"),
             line("A", 7, "Work")]
    assert only(replay(tmp_path, lines)).version == 3


def test_cases_are_returned_in_order_of_first_appearance(tmp_path: Path) -> None:
    lines = [line("B", 0, "New"), line("A", 1, "New"), line("B", 2, "Work"),
             line("A", 3, "Work")]
    assert list(replay(tmp_path, lines).incidents) == ["B", "A"]


def test_a_new_group_is_replayed_as_a_reassignment(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Work", group="network")]
    incident = only(replay(tmp_path, lines))
    assert (incident.assignment_group, incident.reassignment_count) == ("network", 1)


def test_a_take_step_makes_the_rows_actor_the_assignee(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Take", by="bob")]
    assert only(replay(tmp_path, lines)).assignee == "bob"


def test_an_activity_step_is_recorded_as_a_work_note_by_the_rows_actor(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Call", by="bob")]
    note = only(replay(tmp_path, lines)).notes[-1]
    assert (note.text, note.author.id) == ("Call (imported activity)", "bob")


def test_a_step_without_states_replays_only_the_rows_fields(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Touch", impact="1")]
    incident = only(replay(tmp_path, lines))
    assert (incident.status, incident.impact.level) == ("assigned", 1)


def test_a_priority_the_matrix_would_not_give_is_replayed_as_an_override(tmp_path: Path
                                                                        ) -> None:
    mapping = LogMapping(name="p", case="id", timestamp="time", label="state", timezone=UTC,
                         priority="priority", steps=STEPS)
    path = tmp_path / "p.csv"
    path.write_text(f"id,time,state,priority\nA,{T0.isoformat()},New,1 - Critical\n",
                    encoding="utf-8")
    incident = only(import_log(CsvSource(path), mapping))
    assert incident.priority == Priority(1)
    assert isinstance(incident.timeline()[-1], IncidentPriorityOverridden)


def test_levels_written_as_number_dash_label_are_read_by_their_number(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", impact="1 - High")]
    assert only(replay(tmp_path, lines)).impact.level == 1


def test_a_label_made_of_several_columns_is_joined_by_the_separator(tmp_path: Path) -> None:
    mapping = LogMapping(name="two", case="id", timestamp="time", label=("status", "sub"),
                         timezone=UTC, steps={"Accepted/In Progress": Step(states="in_progress")})
    path = tmp_path / "two.csv"
    path.write_text(f"id,time,status,sub\nA,{T0.isoformat()},Accepted,In Progress\n",
                    encoding="utf-8")
    assert only(import_log(CsvSource(path), mapping)).status == "in_progress"


# ---------------------------------------------------------------- strict mode

SKIPPING = [line("A", 0, "New"), line("A", 5, "Wait"), line("A", 10, "Done")]


def test_strict_mode_skips_a_forbidden_move(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, SKIPPING[:2], mode="strict"))
    assert (incident.status, incident.version) == ("new", 1)


def test_strict_mode_counts_a_forbidden_move_by_from_and_to(tmp_path: Path) -> None:
    report = replay(tmp_path, SKIPPING, mode="strict").report
    assert dict(report.forbidden) == {("new", "on_hold"): 1}


def test_forbidden_moves_are_also_counted_by_the_logs_labels(tmp_path: Path) -> None:
    report = replay(tmp_path, SKIPPING, mode="strict").report
    assert dict(report.forbidden_labels) == {("New", "Wait"): 1}


def test_strict_mode_goes_on_replaying_the_case_after_a_forbidden_move(tmp_path: Path) -> None:
    assert only(replay(tmp_path, SKIPPING, mode="strict")).status == "resolved"


def test_strict_mode_counts_a_forbidden_move_once_while_the_log_repeats_its_label(
        tmp_path: Path) -> None:
    lines = [*SKIPPING[:2], line("A", 6, "Wait"), line("A", 7, "Wait")]
    assert replay(tmp_path, lines, mode="strict").report.forbidden_total == 1


def test_strict_mode_writes_no_notes_on_the_incident(tmp_path: Path) -> None:
    assert only(replay(tmp_path, SKIPPING, mode="strict")).notes == ()


def test_strict_mode_counts_leaving_a_terminal_state_as_forbidden(tmp_path: Path) -> None:
    lines = [*CONFORMING, line("A", 90, "Work")]
    report = replay(tmp_path, lines, mode="strict").report
    assert dict(report.forbidden) == {("closed", "in_progress"): 1}


def test_a_case_with_a_forbidden_move_does_not_conform(tmp_path: Path) -> None:
    lines = [*SKIPPING, *(row.replace("A,", "B,", 1) for row in CONFORMING)]
    report = replay(tmp_path, lines, mode="strict").report
    assert (report.cases, report.conforming_cases, report.fitness) == (2, 1, 0.5)


# ---------------------------------------------------------------- lenient mode


def test_lenient_mode_bridges_a_forbidden_move_by_the_shortest_path(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, SKIPPING[:2]))
    assert kinds(incident)[1:] == ["IncidentNoteAdded", "IncidentWorkStarted",
                                   "IncidentPutOnHold"]


def test_lenient_mode_writes_the_anomaly_as_a_work_note_by_the_import_actor(tmp_path: Path
                                                                           ) -> None:
    (note,) = import_anomalies(only(replay(tmp_path, SKIPPING[:2])))
    assert note.author == IMPORT_ACTOR
    assert note.text.startswith(ANOMALY_PREFIX)
    assert "'new' to 'on_hold'" in note.text


def test_lenient_mode_still_counts_the_bridged_move_as_forbidden(tmp_path: Path) -> None:
    report = replay(tmp_path, SKIPPING[:2]).report
    assert dict(report.forbidden) == {("new", "on_hold"): 1}


def test_a_history_starting_mid_lifecycle_is_accepted_and_noted(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, [line("A", 0, "Done")]))
    assert incident.status == "resolved"
    assert "starts at 'Done'" in import_anomalies(incident)[0].text


def test_a_case_starting_mid_lifecycle_is_counted_as_truncated(tmp_path: Path) -> None:
    lines = [line("A", 0, "Work"), line("B", 0, "New")]
    assert replay(tmp_path, lines, mode="strict").report.truncated_cases == 1


def test_lenient_mode_replays_a_closed_incident_the_log_reopens_as_a_reopen(tmp_path: Path
                                                                           ) -> None:
    lines = [*CONFORMING, line("A", 90, "Work"), line("A", 95, "Done"),
             line("A", 99, "Closed")]
    incident = only(replay(tmp_path, lines))
    assert "IncidentReopened" in kinds(incident)
    assert (incident.reopen_count, incident.status) == (1, "closed")


def test_the_closure_the_log_reopens_is_not_replayed_and_is_noted(tmp_path: Path) -> None:
    lines = [*CONFORMING, line("A", 90, "Work")]
    incident = only(replay(tmp_path, lines))
    assert kinds(incident).count("IncidentClosed") == 0
    assert "'closed' is terminal" in import_anomalies(incident)[-1].text


def test_a_lenient_close_is_replayed_at_its_own_time_when_the_log_ends(tmp_path: Path) -> None:
    incident = only(replay(tmp_path, CONFORMING))
    assert (incident.status, incident.closed_at) == ("closed", at(60))


def test_changes_after_the_close_are_noted_before_the_close(tmp_path: Path) -> None:
    lines = [*CONFORMING, line("A", 70, "Call")]
    incident = only(replay(tmp_path, lines))
    assert kinds(incident)[-2:] == ["IncidentNoteAdded", "IncidentClosed"]
    assert "'Call'" in import_anomalies(incident)[-1].text


def test_every_lenient_history_rebuilds_the_same_incident(tmp_path: Path) -> None:
    lines = [line("A", 0, "Done"), line("A", 5, "Closed"), line("A", 9, "Wait", group="x"),
             line("A", 3, "Work", who="bob"), line("A", 12, "Closed")]
    incident = only(replay(tmp_path, lines))
    rebuilt = Incident.from_history(incident.timeline(), incident.workflow)
    assert rebuilt.snapshot() == incident.snapshot()


def test_a_move_no_path_reaches_is_reported_as_unreachable(tmp_path: Path) -> None:
    workflow = Workflow(
        "one_way",
        [StateDef("new", initial=True), StateDef("in_progress"), StateDef("on_hold"),
         StateDef("resolved"), StateDef("closed", terminal=True)],
        [TransitionDef("start", "new", "in_progress"), TransitionDef("hold", "new", "on_hold"),
         TransitionDef("resolve", ("in_progress", "on_hold"), "resolved"),
         TransitionDef("close", "resolved", "closed")],
    )
    mapping = attrs.evolve(MAPPING, steps={"New": Step(states="new"), "Work": STEPS["Work"],
                                           "Wait": STEPS["Wait"]})
    lines = [line("A", 0, "New"), line("A", 1, "Work"), line("A", 2, "Wait")]
    result = import_log(csv_file(tmp_path, lines), mapping, workflow=workflow)
    assert result.report.anomaly_counts == {AnomalyKind.UNREACHABLE: 1}


# ---------------------------------------------------------------- refused changes, time


def test_a_reassignment_while_resolved_is_refused_and_reported_once(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Done"),
             line("A", 6, "Done", group="network"), line("A", 7, "Done", group="network")]
    result = replay(tmp_path, lines)
    assert result.report.anomaly_counts == {AnomalyKind.REFUSED_CHANGE: 1}
    assert only(result).assignment_group == "desk"


def test_a_change_refused_before_the_move_is_replayed_after_it(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 5, "Done"),
             line("A", 9, "Work", group="network")]
    incident = only(replay(tmp_path, lines, mode="strict"))
    assert (incident.reopen_count, incident.assignment_group) == (1, "network")


def test_a_row_dated_before_the_previous_event_is_replayed_at_the_previous_time(
        tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk"), line("A", 10, "Work"), line("A", 4, "Done")]
    result = replay(tmp_path, lines)
    assert only(result).resolved_at == at(10)
    assert result.report.anomaly_counts == {AnomalyKind.TIME_BACKWARDS: 1}


def test_an_unmapped_label_is_counted_and_its_fields_still_replayed(tmp_path: Path) -> None:
    lines = [line("A", 0, "New"), line("A", 5, "-100", group="desk")]
    result = replay(tmp_path, lines, mode="strict")
    assert dict(result.report.unmapped_labels) == {"-100": 1}
    assert only(result).assignment_group == "desk"


def test_an_assignee_the_log_clears_is_counted_as_not_replayed(tmp_path: Path) -> None:
    lines = [line("A", 0, "New", group="desk", who="bob"), line("A", 5, "Work", group="desk")]
    result = replay(tmp_path, lines)
    assert only(result).assignee == "bob"
    assert dict(result.report.unreplayed_changes) == {"assignee cleared": 1}


def opened(tmp_path: Path) -> Incident:
    """An incident opened at minute 2 whose first row (minute 30) starts work."""
    mapping = LogMapping(name="o", case="id", timestamp="time", label="state", timezone=UTC,
                         opened_at="opened", steps=STEPS)
    path = tmp_path / "o.csv"
    path.write_text(f"id,time,state,opened\nA,{at(30).isoformat()},Work,{at(2).isoformat()}\n",
                    encoding="utf-8")
    return only(import_log(CsvSource(path), mapping, mode="strict"))


def test_the_incident_is_logged_at_the_opening_time_the_log_gives(tmp_path: Path) -> None:
    assert opened(tmp_path).logged_at == at(2)


def test_the_first_rows_move_is_replayed_at_the_rows_own_time(tmp_path: Path) -> None:
    assert opened(tmp_path).timeline()[-1].at == at(30)


# ---------------------------------------------------------------- time zones


def zoned(tmp_path: Path, text: str, zone: ZoneInfo | None) -> ImportResult:
    mapping = LogMapping(name="z", case="id", timestamp="time", label="state", timezone=zone,
                         time_format=None, steps=STEPS)
    path = tmp_path / "z.csv"
    path.write_text(f"id,time,state\nA,{text},New\n", encoding="utf-8")
    return import_log(CsvSource(path), mapping)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-01-15T10:00:00", datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
     ("2026-07-15T10:00:00", datetime(2026, 7, 15, 8, 0, tzinfo=UTC))],
    ids=["winter", "summer"],
)
def test_a_time_without_offset_is_read_in_the_mappings_time_zone(
        tmp_path: Path, text: str, expected: datetime) -> None:
    result = zoned(tmp_path, text, ZoneInfo("Europe/Rome"))
    assert only(result).logged_at == expected


def test_a_time_with_an_offset_keeps_its_offset_whatever_the_mappings_zone(tmp_path: Path
                                                                          ) -> None:
    result = zoned(tmp_path, "2026-01-15T10:00:00+05:30", ZoneInfo("Europe/Rome"))
    assert only(result).logged_at == datetime(2026, 1, 15, 4, 30, tzinfo=UTC)


def test_a_time_without_offset_and_no_zone_in_the_mapping_is_a_row_error(tmp_path: Path
                                                                         ) -> None:
    report = zoned(tmp_path, "2026-01-15T10:00:00", None).report
    (error,) = report.row_errors
    assert (error.row, error.column, report.cases) == (2, "time", 0)
    assert "no time zone" in error.message


def test_a_strptime_format_reads_day_first_unpadded_times(tmp_path: Path) -> None:
    mapping = LogMapping(name="d", case="id", timestamp="time", label="state", timezone=UTC,
                         time_format="%d/%m/%Y %H:%M", steps=STEPS)
    path = tmp_path / "d.csv"
    path.write_text("id,time,state\nA,1/3/2016 09:05,New\n", encoding="utf-8")
    assert only(import_log(CsvSource(path), mapping)).logged_at == datetime(
        2016, 3, 1, 9, 5, tzinfo=UTC)


# ---------------------------------------------------------------- mapping and row errors


def test_a_mapped_column_missing_from_the_header_is_reported_before_any_row(tmp_path: Path
                                                                           ) -> None:
    source = csv_file(tmp_path, [line("A", 0, "New")], header="id,time,state,group,who,by,x")
    with pytest.raises(ImportMappingError, match="'impact'"):
        import_log(source, MAPPING)


def test_a_step_naming_a_state_the_workflow_lacks_is_refused(tmp_path: Path) -> None:
    mapping = LogMapping(name="bad", case="id", timestamp="time", label="state",
                         steps={"New": Step(states="fresh")})
    with pytest.raises(ImportMappingError, match="'fresh'"):
        import_log(csv_file(tmp_path, []), mapping)


def test_an_unreadable_time_is_a_row_error_naming_its_line_and_column(tmp_path: Path) -> None:
    lines = [line("A", 0, "New"), "A,yesterday,Work,,,,alice"]
    report = replay(tmp_path, lines).report
    (error,) = report.row_errors
    assert (error.row, error.column, error.value, error.skipped) == (3, "time", "yesterday",
                                                                     True)


def test_row_numbers_are_the_line_a_record_starts_on(tmp_path: Path) -> None:
    lines = ['A,2026-01-05T09:00:00,New,"desk\nsecond line",,,alice',
             "A,later,Work,,,,alice"]
    (error,) = replay(tmp_path, lines).report.row_errors
    assert error.row == 4


def test_a_row_with_the_wrong_number_of_fields_is_skipped_and_reported(tmp_path: Path) -> None:
    lines = [line("A", 0, "New"), "A,2026-01-05T09:05:00,Work", line("A", 9, "Done")]
    result = replay(tmp_path, lines)
    (error,) = result.report.row_errors
    assert (error.row, result.report.rows_skipped) == (3, 1)
    assert "3 fields where the header has 7" in error.message


def test_a_row_without_a_case_id_is_skipped_and_reported(tmp_path: Path) -> None:
    report = replay(tmp_path, [",2026-01-05T09:00:00,New,,,,alice"]).report
    (error,) = report.row_errors
    assert (error.row, error.column, report.cases) == (2, "id", 0)


def test_an_unreadable_field_is_ignored_and_the_rest_of_the_row_replayed(tmp_path: Path
                                                                         ) -> None:
    result = replay(tmp_path, [line("A", 0, "New", group="desk", impact="9 - Huge")])
    (error,) = result.report.row_errors
    assert (error.column, error.skipped) == ("impact", False)
    assert only(result).assignment_group == "desk"


def test_a_row_the_csv_reader_cannot_parse_is_reported_and_the_next_rows_read(
        tmp_path: Path) -> None:
    lines = [line("A", 0, "New"), "A,2026-01-05T09:05:00," + "x" * 200_000 + ",,,,alice",
             line("A", 9, "Done")]
    result = replay(tmp_path, lines)
    (error,) = result.report.row_errors
    assert error.row == 3
    assert "field larger than field limit" in error.message
    assert only(result).status == "resolved"


def test_a_blank_line_is_neither_a_row_nor_an_error(tmp_path: Path) -> None:
    result = replay(tmp_path, [line("A", 0, "New"), "", line("A", 5, "Work")])
    assert (result.report.row_errors, only(result).status) == ((), "in_progress")


def test_an_unknown_mode_is_refused_as_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="'strict' or 'lenient'"):
        replay(tmp_path, CONFORMING, mode="forgiving")


def test_a_missing_source_file_raises_an_import_source_error(tmp_path: Path) -> None:
    with pytest.raises(ImportSourceError, match=r"absent\.csv"):
        import_log(CsvSource(tmp_path / "absent.csv"), MAPPING)


# ---------------------------------------------------------------- sources


def test_a_zipped_csv_is_read_in_place_from_its_only_csv_member(tmp_path: Path) -> None:
    path = tmp_path / "log.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__MACOSX/._log.csv", b"\x00\x05junk")
        archive.writestr("folder/log.csv", "\ufeff" + "\r\n".join([HEADER, *CONFORMING]))
    result = import_log(CsvSource(path), MAPPING)
    assert only(result).status == "closed"


def test_a_truncated_gzip_raises_an_import_source_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    data = gzip.compress("\n".join([HEADER, *CONFORMING]).encode("utf-8"))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportSourceError, match=r"log\.csv\.gz"):
        import_log(CsvSource(path), MAPPING)


def test_a_zip_with_several_csv_members_needs_the_member_named(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", HEADER)
        archive.writestr("b.csv", HEADER)
    with pytest.raises(ImportSourceError, match="expected one CSV member"):
        import_log(CsvSource(path), MAPPING)


XES = """<?xml version="1.0" encoding="utf-8" ?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <string key="origin" value="test"/>
  <trace>
    <string key="concept:name" value="Case 1"/>
    <event>
      <string key="concept:name" value="New"/>
      <string key="org:resource" value="alice"/>
      <date key="time:timestamp" value="2026-01-05T10:00:00+01:00"/>
      <string key="workgroup" value="desk"/>
    </event>
    <event>
      <string key="concept:name" value="Take"/>
      <string key="org:resource" value="bob"/>
      <date key="time:timestamp" value="2026-01-05T10:05:00+01:00"/>
      <string key="workgroup" value="desk"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="Done"/>
      <date key="time:timestamp" value="2026-01-05T11:00:00+01:00"/>
    </event>
    <string key="concept:name" value="Case 2"/>
  </trace>
</log>
"""
XES_MAPPING = LogMapping(name="xes", case="case:concept:name", timestamp="time:timestamp",
                         label="concept:name", actor="org:resource",
                         assignment_group="workgroup", steps=STEPS)


def test_each_xes_trace_becomes_one_incident(tmp_path: Path) -> None:
    path = tmp_path / "log.xes"
    path.write_text(XES, encoding="utf-8")
    result = import_log(XesSource(path), XES_MAPPING)
    assert {case: i.status for case, i in result.incidents.items()} == {
        "Case 1": "in_progress", "Case 2": "resolved"}


def test_xes_events_get_their_traces_attributes_even_when_written_after_them(tmp_path: Path
                                                                            ) -> None:
    path = tmp_path / "log.xes"
    path.write_text(XES, encoding="utf-8")
    records = list(XesSource(path).open())
    assert records[2] == (3, {"case:concept:name": "Case 2", "concept:name": "Done",
                              "time:timestamp": "2026-01-05T11:00:00+01:00"})


def test_a_gzipped_xes_is_read_in_place(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(XES.encode("utf-8")))
    result = import_log(XesSource(path), XES_MAPPING)
    assert result.incidents["Case 1"].assignee == "bob"


def test_an_xes_event_without_a_time_is_a_row_error_numbered_by_its_ordinal(tmp_path: Path
                                                                            ) -> None:
    path = tmp_path / "log.xes"
    path.write_text(XES.replace('<date key="time:timestamp" value="2026-01-05T10:05:00+01:00"/>',
                                ""), encoding="utf-8")
    (error,) = import_log(XesSource(path), XES_MAPPING).report.row_errors
    assert (error.row, error.case, error.column) == (2, "Case 1", "time:timestamp")


def test_broken_xml_raises_an_import_source_error_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.xes"
    path.write_text(XES.replace("</trace>\n  <trace>", "</trace>\n  <trace", 1),
                    encoding="utf-8")
    with pytest.raises(ImportSourceError, match="line 20"):
        import_log(XesSource(path), XES_MAPPING)


def test_a_memory_source_numbers_its_rows_from_one(tmp_path: Path) -> None:
    rows = [{"id": "A", "time": "2026-01-05T09:00:00", "state": "New"},
            {"id": "A", "time": "never", "state": "Work"}]
    mapping = LogMapping(name="m", case="id", timestamp="time", label="state", timezone=UTC,
                         steps=STEPS)
    (error,) = import_log(MemorySource(rows), mapping).report.row_errors
    assert error.row == 2


# ---------------------------------------------------------------- progress


def test_progress_is_reported_in_bytes_ending_at_the_files_size(tmp_path: Path) -> None:
    source = csv_file(tmp_path, CONFORMING)
    calls: list[tuple[int, int | None]] = []
    import_log(source, MAPPING, progress=lambda done, total: calls.append((done, total)))
    size = source.path.stat().st_size
    assert calls[-1] == (size, size)


def test_progress_is_called_every_few_thousand_records(tmp_path: Path) -> None:
    lines = [line(f"C{n}", 0, "New") for n in range(10_000)]
    calls: list[tuple[int, int | None]] = []
    import_log(csv_file(tmp_path, lines), MAPPING,
               progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 3
    assert calls[0][0] < calls[1][0] < calls[2][0]


def test_the_progress_bar_draws_the_share_done() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "import", width=10)
    bar(25, 100)
    bar.close()
    assert stream.getvalue() == "\rimport [##........]  25%\n"


def test_the_progress_bar_shows_a_count_when_the_total_is_unknown() -> None:
    stream = io.StringIO()
    ProgressBar(stream, "import")(12_345, None)
    assert stream.getvalue() == "\rimport 12,345"


def test_no_progress_bar_is_drawn_when_stderr_is_not_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert stderr_progress() is None


# ---------------------------------------------------------------- a ready mapping, in memory


def test_the_servicenow_mapping_reads_its_rows_and_question_marks(tmp_path: Path) -> None:
    header = servicenow_mapping().columns()
    base = dict.fromkeys(header, "?")
    rows = [
        {**base, "number": "INC1", "incident_state": "New", "opened_at": "29/2/2016 01:16",
         "sys_updated_at": "29/2/2016 01:23", "impact": "2 - Medium", "urgency": "2 - Medium",
         "priority": "3 - Moderate", "assignment_group": "Group 56",
         "contact_type": "Self service"},
        {**base, "number": "INC1", "incident_state": "Resolved",
         "sys_updated_at": "29/2/2016 08:53", "impact": "2 - Medium", "urgency": "2 - Medium",
         "priority": "3 - Moderate", "assignment_group": "Group 56", "closed_code": "code 5"},
    ]
    result = import_log(MemorySource(rows, columns=header), servicenow_mapping(),
                        mode=ReplayMode.STRICT)
    incident = result.incidents["INC1"]
    assert (incident.logged_at, incident.channel, incident.status, incident.resolution_code
            ) == (datetime(2016, 2, 29, 1, 16, tzinfo=UTC), "portal", "resolved", "code 5")
    assert result.report.row_errors == ()
