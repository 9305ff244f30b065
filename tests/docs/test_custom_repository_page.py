"""The repository written on the "custom repository" how-to page honours the whole Repository
contract: the page's blocks are run, and its repository goes through ``RepositoryContract``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from itil_incident import Repository
from itil_incident.testing import RepositoryContract

if TYPE_CHECKING:  # mypy names this file after its path
    from tests.docs.test_docs_pages import DOCS, run_page
else:  # pytest puts tests/docs on sys.path (rootdir-relative "prepend" import)
    from test_docs_pages import DOCS, run_page

PAGE = DOCS / "how-to" / "custom-repository.md"
# Run once when collected: the page defines EventStoreRepository (in memory, no files).
make_event_store = cast(Callable[[], Repository], run_page(PAGE)["EventStoreRepository"])


class TestTheRepositoryOfTheHowToPage(RepositoryContract):
    def make_repository(self) -> Repository:
        return make_event_store()
