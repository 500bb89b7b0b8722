"""Fixtures of the end-to-end tests (helpers live in tests/support/, fixtures of every folder in
tests/conftest.py)."""
from __future__ import annotations

import Algorithmia
import pytest

from support.api import DEMO


@pytest.fixture()
def client(live_server):
    """The official Python client with the demo user's key, on the session's live server (reset)."""
    return Algorithmia.client(DEMO, live_server.url)
