"""Import and replay real incident event logs (CSV, XES) through a workflow.

::

    from itil_incident.reporting.importing import (
        CsvSource, import_log, servicenow_mapping, stderr_progress,
    )

    bar = stderr_progress()
    result = import_log(CsvSource("incident_event_log.zip"), servicenow_mapping(),
                        mode="lenient", progress=bar)
    print(result.report.summary())

- Sources stream records: :class:`CsvSource` (plain, gzip, a zip member), :class:`XesSource`
  (plain or gzip), :class:`MemorySource`.
- A :class:`LogMapping` names the columns and maps each label to a :class:`Step` (the
  workflow states it stands for); :mod:`.mappings` holds ready ones.
- :func:`import_log` replays each case; :class:`ReplayMode` ``strict`` counts and skips the
  moves the workflow forbids, ``lenient`` bridges them and writes every anomaly on the
  incident as a work note by :data:`IMPORT_ACTOR` starting with :data:`ANOMALY_PREFIX`
  (:func:`import_anomalies` reads them back). The history stays a valid fold: anomalies are
  ordinary ``IncidentNoteAdded`` events.
"""

from itil_incident.reporting.importing.mapping import LogMapping, Step
from itil_incident.reporting.importing.mappings import (
    helpdesk_mapping,
    servicenow_mapping,
    volvo_mapping,
    volvo_matrix,
)
from itil_incident.reporting.importing.progress import ProgressBar, stderr_progress
from itil_incident.reporting.importing.replay import import_log
from itil_incident.reporting.importing.report import (
    ANOMALY_PREFIX,
    IMPORT_ACTOR,
    Anomaly,
    AnomalyKind,
    ImportMappingError,
    ImportReport,
    ImportResult,
    ImportSourceError,
    ReplayMode,
    RowError,
    import_anomalies,
)
from itil_incident.reporting.importing.sources import (
    CsvSource,
    EventSource,
    MemorySource,
    Progress,
    Record,
    RecordStream,
    XesSource,
)

__all__ = [
    "ANOMALY_PREFIX",
    "IMPORT_ACTOR",
    "Anomaly",
    "AnomalyKind",
    "CsvSource",
    "EventSource",
    "ImportMappingError",
    "ImportReport",
    "ImportResult",
    "ImportSourceError",
    "LogMapping",
    "MemorySource",
    "Progress",
    "ProgressBar",
    "Record",
    "RecordStream",
    "ReplayMode",
    "RowError",
    "Step",
    "XesSource",
    "helpdesk_mapping",
    "import_anomalies",
    "import_log",
    "servicenow_mapping",
    "stderr_progress",
    "volvo_mapping",
    "volvo_matrix",
]
