"""Handlers land here with the capability that owns them."""
from __future__ import annotations

from . import Handlers

ops = Handlers()
