"""A minimal HTTP service desk: a host application that embeds the library.

Run it with ``python examples/http_desk.py --db desk.sqlite3 --port 8080`` (``--port 0`` picks
a free port; the address is printed). Everything is the standard library (``http.server``,
``json``) on top of :class:`~itil_incident.ServiceDesk` with SQLite storage (the ``sql``
extra). The acting user comes from the ``X-Actor`` header. Try::

    curl -s -X POST localhost:8080/incidents -H 'X-Actor: alice' \\
         -d '{"title": "VPN drops every few minutes", "impact": 2, "urgency": 1}'
    curl -s localhost:8080/incidents?open=true
    curl -s -X POST localhost:8080/incidents/INC0000001/start -H 'X-Actor: bob' -d '{}'
    curl -s localhost:8080/incidents/INC0000001

Routes (JSON in, JSON out):

- ``POST /incidents``: log an incident (``title``; optional ``description``, ``caller``,
  ``service``, ``impact``, ``urgency``, ``channel``) -> 201 and the incident;
- ``GET /incidents``: list (query ``status``, ``open``, ``group``, ``text``, ``limit``);
- ``GET /incidents/<id>``: one incident and its timeline;
- ``GET /incidents/<id>/sla``: its SLA clocks;
- ``POST /incidents/<id>/<command>``: ``assign`` (``group``, ``assignee``), ``start``,
  ``hold`` (``reason``, ``note``), ``resume``, ``comment`` (``text``), ``resolve`` (``code``,
  ``notes``), ``close`` (``satisfaction``), ``reopen`` (``reason``), ``escalate``
  (``reason``, ``kind``) -> the changed incident.

A refused command answers with the library's error as ``{"error": ..., "message": ...}``:
400 for bad input, 403 for a permission, 404 for an unknown incident, 409 for a transition
the workflow refuses or a concurrent change.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from itil_incident import (
    Actor,
    BusinessCalendar,
    ConcurrencyError,
    DeskPolicies,
    DomainEvent,
    Incident,
    InvalidTransitionError,
    ItilIncidentError,
    NotFoundError,
    PermissionDeniedError,
    RoleBasedAuthorizer,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    ValidationError,
)
from itil_incident.adapters.sql import SqlRepository, create_schema

Json = dict[str, Any]
Command = Callable[[ServiceDesk, str, Actor, Json], Incident]


def policies() -> DeskPolicies:
    """The defaults, plus an SLA counted around the clock."""
    hour = timedelta(hours=1)
    agreement = SlaAgreement(name="24x7", calendar=BusinessCalendar.always(), targets={
        SlaMetric.RESPONSE: {1: 0.25 * hour, 2: 0.5 * hour, 3: 2 * hour, 4: 4 * hour,
                             5: 8 * hour},
        SlaMetric.RESOLUTION: {1: 4 * hour, 2: 8 * hour, 3: 24 * hour, 4: 72 * hour,
                               5: 120 * hour},
    })
    return DeskPolicies(sla=SlaPolicy.single("SLA", SlaPolicyVersion(
        version=1, effective_from=datetime(2020, 1, 1, tzinfo=UTC), agreements=(agreement,),
        fallback="24x7")))


def open_desk(database: Path) -> tuple[ServiceDesk, SqlRepository]:
    repository = SqlRepository.from_url(f"sqlite:///{database}")
    create_schema(repository.engine)
    authorizer = RoleBasedAuthorizer({"*": {"agent"}})
    # ids come from counters in the database (the default on a SqlRepository): a restarted
    # server, or several of them on one database, goes on where the numbering stopped
    desk = ServiceDesk(repository, policies=policies(), authorizer=authorizer)
    return desk, repository


# ----------------------------------------------------------------- JSON views


def instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def incident_view(incident: Incident) -> Json:
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "priority": str(incident.priority),
        "impact": incident.impact.level,
        "urgency": incident.urgency.level,
        "category": None if incident.category is None else str(incident.category),
        "service": incident.service,
        "caller": incident.caller,
        "assignment_group": incident.assignment_group,
        "assignee": incident.assignee,
        "version": incident.version,
        "logged_at": instant(incident.logged_at),
    }


def event_view(event: DomainEvent) -> Json:
    return {"version": event.version, "event": event.name, "actor": event.actor.id,
            "at": instant(event.at)}


# ----------------------------------------------------------------- commands


def text(body: Json, name: str) -> str:
    """A required text field of the request body (the desk checks its content)."""
    value = body.get(name)
    if not isinstance(value, str):
        raise ValidationError(f"{name} is required (a string)", field=name)
    return value


COMMANDS: Mapping[str, Command] = {
    "assign": lambda d, i, a, b: d.assign(i, actor=a, group=b.get("group"),
                                          assignee=b.get("assignee")),
    "start": lambda d, i, a, b: d.start_work(i, actor=a),
    "hold": lambda d, i, a, b: d.put_on_hold(i, text(b, "reason"), actor=a,
                                             note=b.get("note")),
    "resume": lambda d, i, a, b: d.resume(i, actor=a),
    "comment": lambda d, i, a, b: d.add_comment(i, text(b, "text"), actor=a),
    "resolve": lambda d, i, a, b: d.resolve(i, actor=a, code=text(b, "code"),
                                            notes=text(b, "notes")),
    "close": lambda d, i, a, b: d.close(i, actor=a, satisfaction=b.get("satisfaction")),
    "reopen": lambda d, i, a, b: d.reopen(i, actor=a, reason=text(b, "reason")),
    "escalate": lambda d, i, a, b: d.escalate(i, actor=a, reason=text(b, "reason"),
                                              kind=b.get("kind", "functional")),
}

ERRORS: tuple[tuple[type[ItilIncidentError], HTTPStatus], ...] = (
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (PermissionDeniedError, HTTPStatus.FORBIDDEN),
    (InvalidTransitionError, HTTPStatus.CONFLICT),
    (ConcurrencyError, HTTPStatus.CONFLICT),
    (ItilIncidentError, HTTPStatus.BAD_REQUEST),
)

INCIDENT = re.compile(r"/incidents/(?P<id>[A-Za-z0-9]+)(?:/(?P<action>[a-z_]+))?")


class DeskHandler(BaseHTTPRequestHandler):
    """Turns requests into desk commands and queries; one instance per request."""

    desk: ServiceDesk  # set on the subclass that make_server builds
    server_version = "itil-incident-example/1"

    # -- plumbing
    def answer(self, status: HTTPStatus, payload: object) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def actor(self) -> Actor:
        name = self.headers.get("X-Actor")
        if not name:
            raise PermissionDeniedError("anonymous", "use the desk (send an X-Actor header)")
        return Actor(name, name, {"agent"})

    def body(self) -> Json:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ValidationError("the body must be JSON", field="body") from None
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object", field="body")
        return data

    def handle_errors(self, work: Callable[[], None]) -> None:
        try:
            work()
        except ItilIncidentError as error:
            status = next(code for kind, code in ERRORS if isinstance(error, kind))
            self.answer(status, {"error": type(error).__name__, "message": str(error)})

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else '?'}", flush=True)

    # -- routes
    def do_GET(self) -> None:
        self.handle_errors(self.get)

    def do_POST(self) -> None:
        self.handle_errors(self.post)

    def get(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/incidents":
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            limit = query.get("limit")
            if limit is not None and not limit.isdigit():
                raise ValidationError(f"limit must be a positive integer, got {limit!r}",
                                      field="limit")
            found = self.desk.list_incidents(
                status=query.get("status"), assignment_group=query.get("group"),
                text=query.get("text"),
                open=None if "open" not in query else query["open"] == "true",
                limit=None if limit is None else int(limit))
            self.answer(HTTPStatus.OK, [incident_view(i) for i in found])
            return
        match = INCIDENT.fullmatch(url.path)
        if match is None:
            raise NotFoundError("route", url.path)
        if match["action"] is None:
            incident = self.desk.get_incident(match["id"])
            view = incident_view(incident)
            view["timeline"] = [event_view(e) for e in incident.timeline()]
            self.answer(HTTPStatus.OK, view)
        elif match["action"] == "sla":
            clocks = self.desk.sla_status(match["id"])
            self.answer(HTTPStatus.OK, [
                {"metric": c.metric, "status": c.status, "due_at": instant(c.due_at),
                 "percent_used": round(c.percent_used, 1)} for c in clocks])
        else:
            raise NotFoundError("route", url.path)

    def post(self) -> None:
        path = urlsplit(self.path).path
        actor = self.actor()
        body = self.body()
        if path == "/incidents":
            incident = self.desk.log_incident(
                actor=actor, title=text(body, "title"),
                description=body.get("description", ""), caller=body.get("caller"),
                service=body.get("service"), impact=body.get("impact"),
                urgency=body.get("urgency"), channel=body.get("channel", "api"))
            self.answer(HTTPStatus.CREATED, incident_view(incident))
            return
        match = INCIDENT.fullmatch(path)
        command = None if match is None or match["action"] is None else (
            COMMANDS.get(match["action"]))
        if match is None or command is None:
            raise NotFoundError("route", path)
        self.answer(HTTPStatus.OK, incident_view(command(self.desk, match["id"], actor, body)))


def make_server(desk: ServiceDesk, host: str = "127.0.0.1", port: int = 0
                ) -> ThreadingHTTPServer:
    """An HTTP server for ``desk`` (port 0: any free port; see ``server.server_address``)."""
    handler = type("BoundDeskHandler", (DeskHandler,), {"desk": desk})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A minimal HTTP service desk on SQLite.")
    parser.add_argument("--db", type=Path, default=Path("http-desk.sqlite3"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    options = parser.parse_args(argv)

    desk, repository = open_desk(options.db)
    server = make_server(desk, options.host, options.port)

    def stop(_signal: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()   # shutdown() waits for the loop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"Service desk listening on http://{host!s}:{port} (database {options.db})",
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        repository.close()
    print("Service desk stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
