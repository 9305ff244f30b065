"""The cast and the incidents of the demo week: who works where, who calls, what breaks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, NamedTuple

from itil_incident.domain.values import Channel

__all__ = [
    "ARRIVAL_HOURS",
    "CALLERS",
    "DESK_AGENTS",
    "MONDAY",
    "PROBLEM_MANAGER",
    "RESOLVERS",
    "SATISFACTION",
    "TEMPLATES",
    "USER_CHANNELS",
    "Template",
]

#: The demo week starts on Monday 2 March 2026, 07:00 in Paris (06:00 UTC).
MONDAY: Final = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

#: Service-desk agents (tier 1): they take calls and log incidents.
DESK_AGENTS: Final = ("alice", "bruno", "chloe")
#: The people of each support group of the default routing table.
RESOLVERS: Final = {
    "Service Desk": DESK_AGENTS,
    "Technical Support": ("quentin", "rosa"),
    "Desktop Support": ("dmitri", "elena"),
    "Network Support": ("farid", "gina"),
    "Network Engineering": ("hugo",),
    "Application Support": ("ines", "jules"),
    "Application Engineering": ("karim",),
    "Infrastructure Support": ("lea", "marc"),
    "Infrastructure Engineering": ("nora",),
    "Security Operations": ("omar",),
    "Security Engineering": ("paula",),
}
PROBLEM_MANAGER: Final = "maria"
CALLERS: Final = (
    "emma.martin", "lucas.bernard", "jade.dubois", "louis.thomas", "lina.robert",
    "hugo.richard", "chloe.petit", "gabriel.durand", "manon.leroy", "arthur.moreau",
    "camille.simon", "jules.laurent", "sarah.lefebvre", "adam.michel", "ines.garcia",
    "nathan.david", "lea.bertrand", "paul.roux", "alice.vincent", "tom.fournier",
)
#: How users reach the desk, with weights (monitoring and API are machines, see TEMPLATES).
USER_CHANNELS: Final = ((Channel.PORTAL, 30), (Channel.EMAIL, 25), (Channel.PHONE, 25),
                        (Channel.CHAT, 12), (Channel.WALK_IN, 8))
#: Weights of the local hour at which users report incidents (07:00 to 18:00).
ARRIVAL_HOURS: Final = ((7, 1), (8, 5), (9, 10), (10, 9), (11, 7), (12, 3), (13, 5), (14, 8),
                        (15, 7), (16, 6), (17, 3), (18, 1))
#: Satisfaction scores callers give, with weights.
SATISFACTION: Final = ((5, 45), (4, 30), (3, 13), (2, 7), (1, 5))


class Template(NamedTuple):
    """An incident that happens now and then: title, service, CIs, impact and urgency
    levels, how often (weight), and whether a machine reports it (monitoring or API)."""

    title: str
    description: str
    service: str
    cis: tuple[str, ...]
    impact: int
    urgency: int
    weight: int
    machine: Channel | None = None
    quick: bool = False  # usually solved at first contact


TEMPLATES: Final = (
    Template("Outlook keeps asking to sign in again", "Prompt comes back every hour.",
             "Email", ("exchange-online",), 3, 2, 8),
    Template("Cannot send e-mail with attachments", "Messages over 5 MB stay in the outbox.",
             "Email", ("exchange-online",), 3, 2, 5),
    Template("Shared mailbox missing in Outlook", "The team mailbox disappeared.",
             "Email", ("exchange-online",), 3, 3, 4),
    Template("VPN disconnects every few minutes", "The remote access client drops.",
             "Remote Access", ("vpn-gw-01",), 2, 2, 6),
    Template("Cannot connect to VPN from home", "AnyConnect says the gateway is unreachable.",
             "Remote Access", ("vpn-gw-01",), 3, 1, 5),
    Template("Password expired, cannot log in", "Locked at the Windows logon screen.",
             "Identity", ("ad-dc-01",), 3, 1, 12, quick=True),
    Template("Account locked out after too many attempts", "Typed the old password.",
             "Identity", ("ad-dc-01",), 3, 1, 8, quick=True),
    Template("Need access to the Finance share", "Access denied on \\\\fs-01\\finance.",
             "File Services", ("fs-01",), 3, 3, 5),
    Template("Laptop does not start", "Power LED blinks orange, nothing on screen.",
             "Workplace", (), 3, 2, 5),
    Template("Second monitor not detected", "The PC shows only one screen.",
             "Workplace", (), 3, 3, 5),
    Template("Docking station does not charge the laptop", "Battery drains while docked.",
             "Workplace", (), 3, 3, 3),
    Template("Excel crashes when opening a large workbook", "Happens with the budget file.",
             "Office", (), 3, 2, 5),
    Template("Microsoft Word freezes on save", "Documents on the network drive only.",
             "Office", (), 3, 3, 3),
    Template("SAP invoice posting fails", "Error F5 702 when posting vendor invoices.",
             "ERP", ("erp-app-01",), 2, 2, 4),
    Template("ERP report takes ages to load", "Monthly sales report runs 20 minutes.",
             "ERP", ("erp-app-01",), 3, 3, 3),
    Template("Wi-Fi drops in meeting room 4B", "Laptops lose the corporate SSID.",
             "Network", ("ap-4b-02",), 3, 2, 4),
    Template("No network on desk port 3.14", "Ethernet link light stays off.",
             "Network", ("sw-floor3",), 3, 2, 3),
    Template("Suspicious e-mail asking for credentials", "Looks like a phishing attempt.",
             "Security", (), 2, 2, 3),
    Template("Antivirus alert: malware found on laptop", "Quarantine failed.",
             "Security", (), 2, 1, 1),
    Template("How do I set an out-of-office reply?", "Going on holiday tomorrow.",
             "Workplace", (), 3, 3, 4, quick=True),
    Template("Question: where can I find the expense form?", "Cannot find it anywhere.",
             "Workplace", (), 3, 3, 3, quick=True),
    Template("Disk full on file server fs-02", "Volume D: is 98 % full.",
             "File Services", ("fs-02",), 2, 2, 3, machine=Channel.MONITORING),
    Template("Database connection errors on crm-db-01", "Pool exhausted, app returns 500.",
             "CRM", ("crm-db-01",), 2, 1, 2, machine=Channel.MONITORING),
    Template("Server app-07 host down", "No heartbeat for 5 minutes.",
             "CRM", ("app-07",), 2, 2, 2, machine=Channel.MONITORING),
    Template("Windows update failed on 12 workstations", "Reported by the patch tool.",
             "Workplace", (), 3, 3, 3, machine=Channel.API),
    Template("Nightly backup of fs-01 failed", "Reported by the backup scheduler.",
             "File Services", ("fs-01",), 3, 2, 3, machine=Channel.API),
)
