"""Name rules shared by users, organizations and algorithms."""
from __future__ import annotations

import re

from mockserver.errors import ApiError, Kind

# Seed 001: "Only letters, numbers, and underscores are permitted, and must begin with a letter."
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def check_name(value: object, what: str, kind: Kind) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ApiError(kind, f"Invalid {what} {value!r}: use 1-64 letters, digits or underscores, starting with a letter")
    return value

# The generated client (algorithmia-api-client) refuses other emails in answers,
# so the mock refuses them on the way in.
EMAIL_RE = re.compile(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+[.][a-zA-Z]{2,6}$")


def check_email(value: object, kind: Kind) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value):
        raise ApiError(kind, f"Invalid email address {value!r}")
    return value
