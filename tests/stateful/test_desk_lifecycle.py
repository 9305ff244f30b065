"""The service desk follows the default incident lifecycle under random command sequences."""

from __future__ import annotations

from itil_incident.testing import DeskStateMachine

TestDeskLifecycle = DeskStateMachine.TestCase
