"""``itil-incident import-log``: real incident event logs replayed into the desk's database.

Most tests write small logs of each format in ``tmp_path``; one test per real log imports a
bounded prefix of it from ``../shared/datasets/`` (or the folder ``ITIL_INCIDENT_DATASETS``
names), read in place, and skips saying why when the file is absent. After each import the
desk itself (``list``, ``show``, ``export``, ``report``) is asked what it holds.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pty
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from itil_incident.reporting.importing import (
    MemorySource,
    helpdesk_mapping,
    import_log,
    servicenow_mapping,
    volvo_mapping,
)

if TYPE_CHECKING:  # the fixtures' type, for mypy only (pytest provides the fixtures)
    from tests.cli.conftest import Desk

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ.get("ITIL_INCIDENT_DATASETS") or ROOT / ".." / "shared" / "datasets")
SERVICENOW = DATASETS / "uci_servicenow" / "incident_event_log.zip"
VOLVO = DATASETS / "bpic2013_volvo" / "IBM-VolvoIT-Challenge.zip"
HELPDESK = DATASETS / "helpdesk" / "helpdesk.xes.gz"
HELPDESK_CODED = DATASETS / "helpdesk" / "helpdesk_tax2017.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the real event logs live in ../shared/datasets next "
                    "to the repository, or in the folder ITIL_INCIDENT_DATASETS names")
    return path


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def stored(desk: Desk) -> dict[str, dict[str, Any]]:
    """Every incident the desk holds, by id (``list --json``)."""
    return {row["id"]: row for row in desk.json("list")}


def histories(desk: Desk) -> dict[str, list[str]]:
    """Each stored incident's event names, oldest first (``export``)."""
    lines = desk.ok("export").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    return {record["id"]: [event["name"] for event in record["events"]]
            for record in records if record["kind"] == "incident"}


# ----------------------------------------------------------------- logs written for the tests

SN_HEADER = ("number,incident_state,sys_updated_by,sys_updated_at,opened_at,caller_id,"
             "contact_type,location,category,subcategory,impact,urgency,priority,"
             "assignment_group,assigned_to,closed_code")


def sn_row(number: str, state: str, at: str, *, group: str = "Group 1", who: str = "?",
           code: str = "?", opened: str = "1/3/2016 09:00") -> str:
    return (f"{number},{state},Updated by 1,{at},{opened},Caller 1,Phone,Location 1,"
            f"Category 1,Subcategory 1,2 - Medium,2 - Medium,3 - Moderate,{group},{who},{code}")


def sn_resolved_and_closed(number: str) -> list[str]:
    """New (with a group) -> Active (taken) -> Resolved -> Closed."""
    return [
        sn_row(number, "New", "1/3/2016 09:00"),
        sn_row(number, "Active", "1/3/2016 09:30", who="Resolver 1"),
        sn_row(number, "Resolved", "1/3/2016 10:00", who="Resolver 1", code="code 5"),
        sn_row(number, "Closed", "6/3/2016 10:00", who="Resolver 1", code="code 5"),
    ]


def write_servicenow(path: Path, rows: Sequence[str]) -> Path:
    path.write_text("\n".join([SN_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def servicenow_cases(tmp_path: Path, count: int, name: str = "log.csv") -> Path:
    """``count`` conforming cases, INC1000001 upwards, each resolved and closed."""
    rows = [row for n in range(1, count + 1) for row in sn_resolved_and_closed(f"INC{1000000 + n}")]
    return write_servicenow(tmp_path / name, rows)


VOLVO_HEADER = ("SR Number,Change Date+Time,Status,Sub Status,Involved ST,ST Level,"
                "SR Latest Impact,Product,Country,Resource")


def volvo_zip(tmp_path: Path) -> Path:
    """Two service requests, zipped as the public archive is (with a ``__MACOSX`` entry)."""
    rows = [
        "1-100,2010-03-31T15:59:42+01:00,Accepted,In Progress,V30,L1,Medium,PROD1,fr,fr-Ann",
        "1-100,2010-03-31T16:10:00+01:00,Accepted,Wait - User,V30,L1,Medium,PROD1,fr,fr-Ann",
        "1-100,2010-04-01T09:00:00+01:00,Accepted,In Progress,V30,L1,Medium,PROD1,fr,fr-Ann",
        "1-100,2010-04-01T10:00:00+01:00,Completed,Resolved,V30,L1,Medium,PROD1,fr,fr-Ann",
        "1-100,2010-04-02T10:00:00+01:00,Completed,Closed,V30,L1,Medium,PROD1,fr,fr-Ann",
        "1-200,2010-04-03T08:00:00+01:00,Queued,Awaiting Assignment,G7,L2,High,PROD2,se,se-Bo",
        "1-200,2010-04-03T08:30:00+01:00,Accepted,In Progress,G7,L2,High,PROD2,se,se-Bo",
        "1-200,2010-04-03T09:00:00+01:00,Completed,Cancelled,G7,L2,High,PROD2,se,se-Bo",
    ]
    path = tmp_path / "volvo.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("VolvoIT-Challenge/VINST-new.csv",
                         "\ufeff" + "\r\n".join([VOLVO_HEADER, *rows]) + "\r\n")
        archive.writestr("__MACOSX/VolvoIT-Challenge/._VINST-new.csv", "resource fork")
    return path


def xes_event(activity: str, at: str, who: str = "Value 1", group: str = "Value 1") -> str:
    return (f'<event><string key="concept:name" value="{activity}"/>'
            f'<string key="org:resource" value="{who}"/>'
            f'<date key="time:timestamp" value="{at}"/>'
            f'<string key="workgroup" value="{group}"/><string key="customer" value="Value 3"/>'
            f'<string key="product" value="Value 9"/></event>')


def helpdesk_xes(tmp_path: Path) -> Path:
    """Two traces: one waits, resumes, is resolved and closed; one is only inserted."""
    traces = {
        "Case 1": [xes_event("Insert ticket", "2012-10-09T14:50:17+00:00"),
                   xes_event("Take in charge ticket", "2012-10-09T15:00:00+00:00", "Value 2"),
                   xes_event("Wait", "2012-10-10T09:00:00+00:00", "Value 2"),
                   xes_event("Take in charge ticket", "2012-10-11T09:00:00+00:00", "Value 2"),
                   xes_event("Resolve ticket", "2012-10-12T09:00:00+00:00", "Value 2"),
                   xes_event("Closed", "2012-10-15T09:00:00+00:00", "Value 3")],
        "Case 2": [xes_event("Insert ticket", "2012-11-01T08:00:00+00:00")],
    }
    body = "".join(f'<trace><string key="concept:name" value="{case}"/>{"".join(events)}'
                   "</trace>" for case, events in traces.items())
    text = ('<?xml version="1.0" encoding="utf-8"?>'
            f'<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">{body}</log>')
    path = tmp_path / "helpdesk.xes.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def import_log_json(desk: Desk, *args: str) -> dict[str, Any]:
    """Run ``import-log ARGS --json``, which must succeed, and return its summary."""
    data: dict[str, Any] = desk.json("import-log", *args)
    return data


# ----------------------------------------------------------------- each format


def test_a_servicenow_log_stores_one_incident_per_case_with_its_whole_history(
        desk: Desk, tmp_path: Path) -> None:
    log = servicenow_cases(tmp_path, 2)
    result = desk.ok("import-log", str(log), "--format", "servicenow")
    assert result.stdout.startswith("imported log.csv (servicenow, lenient) into ")
    assert "2 incident(s) stored in 1 batch(es)" in result.stdout
    assert {n: row["status"] for n, row in stored(desk).items()} == {
        "INC1000001": "closed", "INC1000002": "closed"}
    assert histories(desk)["INC1000001"] == [
        "incident.logged", "incident.assigned", "incident.assigned", "incident.work_started",
        "incident.resolved", "incident.closed"]


def test_an_imported_incident_keeps_the_logs_times_people_and_codes(
        desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(servicenow_cases(tmp_path, 1)), "--format", "servicenow")
    shown = desk.json("show", "INC1000001")
    assert (shown["logged_at"], shown["assignment_group"], shown["assignee"]) == (
        "2016-03-01T09:00:00+00:00", "Group 1", "Resolver 1")
    assert (shown["resolution_code"], shown["closed_at"]) == (
        "code 5", "2016-03-06T10:00:00+00:00")
    assert [event["actor"] for event in shown["timeline"]] == ["Updated by 1"] * 6


def test_a_zipped_volvo_log_is_read_in_place_and_replayed(desk: Desk, tmp_path: Path) -> None:
    summary = import_log_json(desk, str(volvo_zip(tmp_path)), "--format", "volvo")
    assert (summary["cases"], summary["stored"], summary["rows"]) == (2, 2, 8)
    assert summary["statuses"] == {"cancelled": 1, "closed": 1}
    assert summary["anomalies"] == {"starts_mid_lifecycle": 1}  # 1-100 starts In Progress
    assert histories(desk) == {
        "1-100": ["incident.logged", "incident.note_added", "incident.assigned",
                  "incident.work_started", "incident.put_on_hold", "incident.resumed",
                  "incident.resolved", "incident.closed"],
        "1-200": ["incident.logged", "incident.assigned", "incident.assigned",
                  "incident.work_started", "incident.cancelled"],
    }
    assert stored(desk)["1-200"]["support_tier"] == 2


def test_a_gzipped_helpdesk_xes_log_is_replayed_trace_by_trace(
        desk: Desk, tmp_path: Path) -> None:
    summary = import_log_json(desk, str(helpdesk_xes(tmp_path)), "--format", "helpdesk")
    assert (summary["cases"], summary["rows"], summary["events"]) == (2, 7, 10)
    incidents = stored(desk)
    assert {n: row["status"] for n, row in incidents.items()} == {
        "Case 1": "closed", "Case 2": "assigned"}
    assert incidents["Case 2"]["caller"] == "Value 3"
    assert histories(desk)["Case 1"] == [
        "incident.logged", "incident.assigned", "incident.assigned", "incident.work_started",
        "incident.put_on_hold", "incident.resumed", "incident.resolved", "incident.closed"]


def test_a_helpdesk_log_may_also_be_a_csv_with_the_xes_column_names(
        desk: Desk, tmp_path: Path) -> None:
    log = tmp_path / "helpdesk.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:resource,workgroup,"
                   "customer,product,seriousness_2,service_level,service_type,"
                   "responsible_section,support_section\n"
                   "Case 9,Insert ticket,2012-10-09T14:50:17+00:00,Value 1,Value 1,Value 2,"
                   "Value 3,Value 1,Value 1,Value 1,Value 1,Value 1\n", encoding="utf-8")
    import_log_json(desk, str(log), "--format", "helpdesk")
    assert stored(desk)["Case 9"]["custom"]["service_level"] == "Value 1"


# ----------------------------------------------------------------- the summary


def anomalous_servicenow(tmp_path: Path) -> Path:
    """INC2000001 goes New (no group) -> Awaiting User Info (no single trigger: lenient
    mode bridges the move, strict mode leaves the incident new); INC2000002 has a row
    with an unreadable time (skipped) and one with an unknown impact (field ignored)."""
    return write_servicenow(tmp_path / "odd.csv", [
        sn_row("INC2000001", "New", "1/3/2016 09:00", group="?"),
        sn_row("INC2000001", "Awaiting User Info", "1/3/2016 09:10", group="?"),
        sn_row("INC2000002", "New", "1/3/2016 10:00"),
        sn_row("INC2000002", "Active", "yesterday", who="Resolver 2"),
        sn_row("INC2000002", "Active", "1/3/2016 10:30", who="Resolver 2").replace(
            "2 - Medium,2 - Medium", "9 - Galactic,2 - Medium"),
    ])


def test_the_json_summary_counts_cases_anomalies_and_row_errors_by_kind(
        desk: Desk, tmp_path: Path) -> None:
    summary = import_log_json(desk, str(anomalous_servicenow(tmp_path)),
                              "--format", "servicenow")
    assert (summary["rows"], summary["rows_skipped"], summary["cases"]) == (5, 1, 2)
    assert (summary["stored"], summary["already_present"], summary["dry_run"]) == (2, 0, False)
    assert summary["statuses"] == {"in_progress": 1, "on_hold": 1}
    assert summary["forbidden"] == [{"from": "new", "to": "on_hold", "count": 1}]
    assert summary["anomalies"] == {"forbidden_transition": 1}
    errors = summary["row_errors"]
    assert (errors["total"], errors["rows_skipped"]) == (2, 1)
    assert errors["by_column"] == {"impact": 1, "sys_updated_at": 1}
    assert [(e["row"], e["column"], e["skipped"]) for e in errors["first"]] == [
        (5, "sys_updated_at", True), (6, "impact", False)]
    assert set(summary["seconds"]) == {"replay", "store", "total"}


def test_the_text_summary_lists_anomalies_and_each_row_error(
        desk: Desk, tmp_path: Path) -> None:
    output = desk.ok("import-log", str(anomalous_servicenow(tmp_path)),
                     "--format", "servicenow").stdout
    assert "statuses: in_progress 1, on_hold 1" in output
    assert "  new -> on_hold: 1" in output
    assert "anomalies: 1 (forbidden_transition 1); each is a work note on its incident" in output
    assert "row errors: 2 (1 row(s) skipped; by column: impact 1, sys_updated_at 1)" in output
    assert "  row 5, column 'sys_updated_at': 'yesterday' is not a time" in output
    assert "\ntime: " in output


def test_lenient_mode_writes_each_anomaly_on_its_incident(desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(anomalous_servicenow(tmp_path)), "--format", "servicenow")
    notes = desk.json("show", "INC2000001")["notes"]
    assert [note["author"] for note in notes] == ["import"]
    assert notes[0]["text"].startswith("import anomaly: ")


def test_strict_mode_skips_the_move_the_workflow_forbids_and_writes_no_note(
        desk: Desk, tmp_path: Path) -> None:
    summary = import_log_json(desk, str(anomalous_servicenow(tmp_path)),
                              "--format", "servicenow", "--mode", "strict")
    assert summary["mode"] == "strict"
    shown = desk.json("show", "INC2000001")
    assert (shown["status"], shown["notes"]) == ("new", [])


# ----------------------------------------------------------------- batches, re-runs, limits


def test_incidents_are_stored_in_batches_of_the_given_size(desk: Desk, tmp_path: Path) -> None:
    summary = import_log_json(desk, str(servicenow_cases(tmp_path, 7)), "--format",
                              "servicenow", "--batch-size", "3")
    assert (summary["stored"], summary["batches"], summary["batch_size"]) == (7, 3, 3)
    assert len(stored(desk)) == 7


def test_imported_events_are_history_not_news_and_enter_no_outbox(
        desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(servicenow_cases(tmp_path, 3)), "--format", "servicenow")
    with closing(sqlite3.connect(desk.database)) as connection:
        events = connection.execute("SELECT count(*) FROM itil_incident_events").fetchone()[0]
        messages = connection.execute("SELECT count(*) FROM itil_outbox").fetchone()[0]
    assert (events, messages) == (sum(map(len, histories(desk).values())), 0)
    desk.ok("log", "Printer jammed")  # what happens at the desk is news again
    with closing(sqlite3.connect(desk.database)) as connection:
        names = [name for (name,) in connection.execute("SELECT event_name FROM itil_outbox")]
    assert names == ["incident.logged"]


def test_importing_the_same_file_again_skips_every_incident_and_duplicates_none(
        desk: Desk, tmp_path: Path) -> None:
    log = servicenow_cases(tmp_path, 3)
    desk.ok("import-log", str(log), "--format", "servicenow")
    before = histories(desk)
    again = desk.ok("import-log", str(log), "--format", "servicenow")
    assert "0 incident(s) stored in 0 batch(es) of at most 500, 3 skipped (already in the " \
        "desk)" in again.stdout
    assert "  skipped: INC1000001, INC1000002, INC1000003\n" in again.stdout
    assert histories(desk) == before


def test_a_log_overlapping_the_desk_stores_only_the_new_cases(
        desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(servicenow_cases(tmp_path, 2, "first.csv")),
            "--format", "servicenow")
    summary = import_log_json(desk, str(servicenow_cases(tmp_path, 5, "more.csv")),
                              "--format", "servicenow")
    assert (summary["stored"], summary["already_present"]) == (3, 2)
    assert summary["already_present_ids"] == ["INC1000001", "INC1000002"]
    assert len(stored(desk)) == 5


def test_an_interrupted_import_keeps_the_batches_before_it_and_a_rerun_stores_the_rest(
        desk: Desk, tmp_path: Path) -> None:
    log = servicenow_cases(tmp_path, 7)
    engine = sa.create_engine(f"sqlite:///{desk.database}")
    with engine.begin() as connection:  # the database fails while storing the third batch
        connection.exec_driver_sql(
            "CREATE TRIGGER fail_on_inc1000005 BEFORE INSERT ON itil_incident_events "
            "WHEN NEW.record_id = 'INC1000005' BEGIN SELECT RAISE(ABORT, 'disk failure'); END")
    failed = desk("import-log", str(log), "--format", "servicenow", "--batch-size", "2")
    assert failed.exit_code == 5
    line = one_error_line(failed.stderr)
    assert "disk failure" in line
    assert line.endswith("4 incident(s) were stored before it, in 2 batch(es); run the same "
                         "command again to store the rest (the incidents stored already are "
                         "skipped)")
    assert sorted(stored(desk)) == ["INC1000001", "INC1000002", "INC1000003", "INC1000004"]
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER fail_on_inc1000005")
    engine.dispose()
    summary = import_log_json(desk, str(log), "--format", "servicenow", "--batch-size", "2")
    assert (summary["stored"], summary["already_present"]) == (3, 4)
    assert len(histories(desk)) == 7
    assert all(len(events) == 6 for events in histories(desk).values())


def test_a_dry_run_replays_and_reports_but_stores_nothing(desk: Desk, tmp_path: Path) -> None:
    log = servicenow_cases(tmp_path, 3)
    summary = import_log_json(desk, str(log), "--format", "servicenow", "--dry-run")
    assert (summary["dry_run"], summary["would_store"], summary["stored"]) == (True, 3, 0)
    assert summary["statuses"] == {"closed": 3}
    assert stored(desk) == {}
    text = desk.ok("import-log", str(log), "--format", "servicenow", "--dry-run").stdout
    assert text.startswith("dry run: log.csv (servicenow, lenient): 3 incident(s) would be "
                           "stored in ")
    assert "nothing was stored" in text.splitlines()[0]


def test_a_dry_run_counts_the_incidents_already_in_the_desk(
        desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(servicenow_cases(tmp_path, 1, "one.csv")),
            "--format", "servicenow")
    summary = import_log_json(desk, str(servicenow_cases(tmp_path, 3)), "--format",
                              "servicenow", "--dry-run")
    assert (summary["would_store"], summary["already_present"]) == (2, 1)


def test_limit_keeps_the_first_cases_with_all_their_rows_wherever_they_are(
        desk: Desk, tmp_path: Path) -> None:
    a, b, c = (sn_resolved_and_closed(f"INC300000{n}") for n in (1, 2, 3))
    log = write_servicenow(tmp_path / "mixed.csv",
                           [a[0], b[0], a[1], c[0], b[1], a[2], c[1], a[3], b[2], b[3]])
    summary = import_log_json(desk, str(log), "--format", "servicenow", "--limit", "2")
    assert (summary["cases"], summary["rows"], summary["limit"]) == (2, 8, 2)
    assert {n: row["status"] for n, row in stored(desk).items()} == {
        "INC3000001": "closed", "INC3000002": "closed"}


def test_ids_logged_after_an_import_come_after_the_highest_imported_id(
        desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(servicenow_cases(tmp_path, 2)), "--format", "servicenow")
    assert desk.json("log", "A new one")["id"] == "INC1000003"


def test_list_and_report_work_on_the_imported_incidents(desk: Desk, tmp_path: Path) -> None:
    desk.ok("import-log", str(volvo_zip(tmp_path)), "--format", "volvo")
    closed = desk.json("list", "--closed")
    assert [row["id"] for row in closed] == ["1-100", "1-200"]
    report = desk.json("report")
    assert report["kpis"]["total"]["incidents"] == 2
    assert "Incident report" in desk.ok("report").stdout


def test_member_names_the_csv_of_a_zip_holding_several(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("old.csv", SN_HEADER + "\n")
        archive.writestr("new.csv", "\n".join([SN_HEADER, *sn_resolved_and_closed("INC7")]))
    refused = desk("import-log", str(path), "--format", "servicenow")
    assert refused.exit_code == 1
    assert one_error_line(refused.stderr).endswith(
        "expected one CSV member, found old.csv, new.csv; name the member with --member; "
        "nothing was stored")
    summary = import_log_json(desk, str(path), "--format", "servicenow", "--member", "new.csv")
    assert (summary["source"], summary["stored"]) == ("two.zip:new.csv", 1)


def test_member_is_refused_for_an_xes_log(desk: Desk, tmp_path: Path) -> None:
    result = desk("import-log", str(helpdesk_xes(tmp_path)), "--format", "helpdesk",
                  "--member", "x.csv")
    assert result.exit_code == 2
    assert "--member" in result.stderr


# ----------------------------------------------------------------- refusals: nothing stored


def test_a_missing_file_is_a_usage_error(desk: Desk, tmp_path: Path) -> None:
    result = desk("import-log", str(tmp_path / "nope.csv"), "--format", "servicenow")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_an_unknown_format_is_a_usage_error(desk: Desk, tmp_path: Path) -> None:
    result = desk("import-log", str(servicenow_cases(tmp_path, 1)), "--format", "jira")
    assert result.exit_code == 2
    assert "'jira' is not one of 'servicenow', 'volvo', 'helpdesk'" in result.stderr


def test_a_log_of_another_format_is_refused_naming_the_missing_columns(
        desk: Desk, tmp_path: Path) -> None:
    result = desk("import-log", str(volvo_zip(tmp_path)), "--format", "servicenow")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "volvo.zip does not fit --format servicenow: mapping 'servicenow': the header " \
        "lacks column(s) 'number', 'sys_updated_at', 'incident_state'" in line
    assert line.endswith("; nothing was stored")
    assert stored(desk) == {}


def test_an_xes_log_no_row_of_which_fits_the_format_is_refused(
        desk: Desk, tmp_path: Path) -> None:
    result = desk("import-log", str(helpdesk_xes(tmp_path)), "--format", "volvo")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "none of its 7 row(s) can be read as a volvo log (first: row 1, column " \
        "'SR Number': no case id); nothing was stored" in line
    assert stored(desk) == {}


@pytest.mark.parametrize("name", ["broken.zip", "broken.csv.gz", "broken.xes.gz"])
def test_a_corrupt_file_is_refused_and_nothing_is_stored(
        desk: Desk, tmp_path: Path, name: str) -> None:
    data = gzip.compress((SN_HEADER + "\n" + "\n".join(sn_resolved_and_closed("INC1"))).encode())
    if name.endswith(".zip"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("log.csv", data * 50)
        data = buffer.getvalue()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])  # cut in the middle
    result = desk("import-log", str(path), "--format", "servicenow")
    assert result.exit_code == 1
    assert one_error_line(result.stderr).endswith("; nothing was stored")
    assert stored(desk) == {}


def test_a_database_that_was_not_initialised_is_refused_with_exit_code_5(
        desk: Desk, tmp_path: Path) -> None:
    fresh = type(desk)(tmp_path / "none.sqlite3")
    result = fresh("import-log", str(servicenow_cases(tmp_path, 1)), "--format", "servicenow")
    assert result.exit_code == 5
    assert "is not initialised" in one_error_line(result.stderr)


# ----------------------------------------------------------------- the progress bar


def test_no_progress_bar_is_drawn_when_stderr_is_not_a_terminal(
        desk: Desk, tmp_path: Path) -> None:
    result = desk.ok("import-log", str(servicenow_cases(tmp_path, 2)), "--format", "servicenow")
    assert result.stderr == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_progress_bar_is_drawn_on_a_terminal(desk: Desk, tmp_path: Path) -> None:
    import itil_incident

    package = str(Path(itil_incident.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package, *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, "-m", "itil_incident", "--db", str(desk.database), "import-log",
               str(servicenow_cases(tmp_path, 2)), "--format", "servicenow"]
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, env=env) as process:
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            drawn += chunk
        output = process.communicate(timeout=60)[0].decode()
    os.close(leader)
    assert process.returncode == 0, drawn
    text = drawn.decode()
    assert f"reading log.csv [{'#' * 30}] 100%" in text
    assert f"storing [{'#' * 30}] 100%" in text
    assert output.startswith("imported log.csv")


# ----------------------------------------------------------------- the real logs (prefixes)


def first_cases(rows: Sequence[dict[str, str]], column: str, count: int
                ) -> list[dict[str, str]]:
    """The rows of the first ``count`` cases of ``rows``, read without the importer."""
    kept: dict[str, None] = {}
    for row in rows:
        if len(kept) < count:
            kept.setdefault(row[column], None)
    return [row for row in rows if row[column] in kept]


def zipped_csv(path: Path, member: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as archive, archive.open(member) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")))


def check_stored_as_replayed(desk: Desk, rows: list[dict[str, str]],
                             columns: Sequence[str] | None, mapping_name: str) -> None:
    """The desk holds what the importer replays from the same rows, event for event."""
    mapping = {"servicenow": servicenow_mapping, "volvo": volvo_mapping,
               "helpdesk": helpdesk_mapping}[mapping_name]()
    expected = import_log(MemorySource(rows, columns=columns), mapping).incidents
    assert {n: len(events) for n, events in histories(desk).items()} == {
        n: incident.version for n, incident in expected.items()}
    assert {n: row["status"] for n, row in stored(desk).items()} == {
        n: incident.status for n, incident in expected.items()}


def test_the_first_200_servicenow_incidents_are_imported_and_reported(desk: Desk) -> None:
    rows = zipped_csv(need(SERVICENOW), "incident_event_log.csv")
    prefix = first_cases(rows, "number", 200)
    summary = import_log_json(desk, str(SERVICENOW), "--format", "servicenow",
                              "--limit", "200")
    assert (summary["cases"], summary["stored"], summary["rows"]) == (200, 200, len(prefix))
    assert summary["statuses"] == {"closed": 200}  # every case's last row is Closed
    check_stored_as_replayed(desk, prefix, tuple(rows[0]), "servicenow")
    assert desk.json("report")["kpis"]["total"]["incidents"] == 200


def test_the_first_200_volvo_incidents_are_imported_and_reported(desk: Desk) -> None:
    rows = zipped_csv(need(VOLVO), "VolvoIT-Challenge/VINST-new.csv")
    prefix = first_cases(rows, "SR Number", 200)
    summary = import_log_json(desk, str(VOLVO), "--format", "volvo", "--limit", "200")
    assert (summary["cases"], summary["stored"], summary["rows"]) == (200, 200, len(prefix))
    check_stored_as_replayed(desk, prefix, tuple(rows[0]), "volvo")
    assert len(desk.json("list", "--closed")) == sum(
        n for status, n in summary["statuses"].items()
        if status in ("resolved", "closed", "cancelled"))
    assert desk.json("report")["kpis"]["total"]["incidents"] == 200


def xes_rows(path: Path) -> list[dict[str, str]]:
    """Each event of a gzipped XES log with its trace's attributes (prefixed ``case:``), read
    with a plain iterparse."""
    rows: list[dict[str, str]] = []
    events: list[dict[str, str]] = []
    with gzip.open(path) as raw:
        for _, element in ElementTree.iterparse(raw):
            tag = element.tag.rpartition("}")[2]
            if tag == "event":
                events.append({key: child.get("value", "") for child in element
                               if (key := child.get("key")) is not None})
                element.clear()
            elif tag == "trace":
                case = {f"case:{key}": child.get("value", "") for child in element
                        if (key := child.get("key")) is not None}
                rows += [{**case, **event} for event in events]
                events = []
                element.clear()
    return rows


def test_the_first_200_helpdesk_cases_are_imported_and_reported(desk: Desk) -> None:
    prefix = first_cases(xes_rows(need(HELPDESK)), "case:concept:name", 200)
    summary = import_log_json(desk, str(HELPDESK), "--format", "helpdesk", "--limit", "200")
    assert (summary["cases"], summary["stored"], summary["rows"]) == (200, 200, len(prefix))
    check_stored_as_replayed(desk, prefix, None, "helpdesk")
    assert desk.json("report")["kpis"]["total"]["incidents"] == 200


def test_the_integer_coded_helpdesk_csv_does_not_fit_the_helpdesk_format(desk: Desk) -> None:
    result = desk("import-log", str(need(HELPDESK_CODED)), "--format", "helpdesk")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "does not fit --format helpdesk" in line
    assert "(header: ActivityID, CaseID, CompleteTimestamp)" in line
    assert stored(desk) == {}
