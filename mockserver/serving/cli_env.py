"""``mockserver cli-env``: point the ``algo`` CLI, git and the Python client at a mock in one step.

    eval "$(mockserver cli-env --key simDemoSandboxKey0000000000)"

1. writes the ``algo`` profile (``~/.algorithmia/config``, TOML as the ``algorithmia`` 2.0.5
   CLI reads and writes it, with the same ``toml`` package), keeping the file's other profiles:
   ``algo auth`` cannot, since it refuses any address not starting with ``https://api.``;
2. gives git the key for that server only (``credential.<URL>.helper``, in git's global
   configuration), so ``algo clone`` and ``git push`` ask for nothing;
3. prints ``export ALGORITHMIA_API=...`` and ``export ALGORITHMIA_API_KEY=...`` on stdout for
   ``eval``: ``Algorithmia.client()`` with no arguments reads them.

What it did goes to stderr. The URL defaults to the address ``mockserver`` serves with the same
``MOCKSERVER_HOST`` and ``MOCKSERVER_PORT`` (http://127.0.0.1:8080 without them).
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import toml

from mockserver.settings import SettingError, Settings

_KEY = re.compile(r"^[A-Za-z0-9._+/=-]{1,200}$")      # nothing a shell would expand


class SetupError(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mockserver cli-env", description="Point the algo CLI, git and the Python "
                                "client at a mock: write the algo profile and a git credential helper for its "
                                "address, and print the ALGORITHMIA_API and ALGORITHMIA_API_KEY exports (for eval).",
                                epilog="Then algo ls, algo run and algo clone work with no prompt.")
    p.add_argument("--key", required=True, help="the API key the CLI, git and the client use (e.g. demo's: "
                   "simDemoSandboxKey0000000000)")
    p.add_argument("--url", help="the mock's address (default: http://HOST:PORT from MOCKSERVER_HOST and "
                   "MOCKSERVER_PORT, as mockserver serves; http://127.0.0.1:8080 without them)")
    p.add_argument("--profile", default="default", help="the algo profile to write (default: default)")
    return p.parse_args(argv)


def default_url(settings: Settings) -> str:
    """Where ``mockserver`` serves with ``settings`` (the run's: its host, port and prefix)."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0") else "::1" if settings.host == "::" else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}{settings.url_prefix.rstrip('/')}"


def checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s'\"\\]", url) \
            or parts.query or parts.fragment:
        raise SetupError(f"--url {url!r}: give the mock's address, such as http://127.0.0.1:8080")
    return url.rstrip("/")


def git_url(api_url: str) -> str:
    """Where ``algo clone`` clones from: it turns ``//api.NAME`` into ``//git.NAME``."""
    return api_url.replace("//api.", "//git.")


def config_file() -> Path:
    """``~/.algorithmia/config``, from ``$HOME`` as the CLI finds it."""
    return Path(os.environ.get("HOME") or Path.home()) / ".algorithmia" / "config"


def write_profile(path: Path, profile: str, url: str, key: str) -> None:
    """Set one profile of the CLI's TOML file, keeping the others (file mode 0600: it holds a key)."""
    config: dict = {}
    if path.exists():
        try:
            config = toml.loads(path.read_text(encoding="utf-8"))
        except (toml.TomlDecodeError, UnicodeDecodeError) as exc:
            raise SetupError(f"{path} is not a TOML file the algo CLI can read ({exc}); fix or remove it") from None
    profiles = config.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise SetupError(f"{path}: 'profiles' is not a table; fix or remove the file")
    profiles[profile] = {"api_key": key, "api_server": url, "ca_cert": "", "bearer_token": ""}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        toml.dump(config, out)


def git_credential_helper(url: str, key: str) -> list[list[str]]:
    """The git commands that make git answer ``url``'s password prompt with ``key``, for that server
    only: an empty value first resets helpers configured before it (git's documented rule), so no
    other helper is asked, or handed the key to store."""
    helper = f"!f() {{ test \"$1\" = get || return 0; echo username=mock; echo password={key}; }}; f"
    name = f"credential.{url}.helper"
    return [["git", "config", "--global", "--replace-all", name, ""],
            ["git", "config", "--global", "--add", name, helper]]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if not _KEY.match(args.key):
            raise SetupError("--key: an API key is letters, digits and -._+/=")
        url = checked_url(args.url or default_url(Settings.load()))
        path = config_file()
        write_profile(path, args.profile, url, args.key)
        print(f"mockserver cli-env: algo profile {args.profile!r} in {path}: {url}", file=sys.stderr)
        git = shutil.which("git")
        if git is None:
            print("mockserver cli-env: git is not installed: algo clone needs it (then run this again)",
                  file=sys.stderr)
        else:
            for target in dict.fromkeys([url, git_url(url)]):
                for command in git_credential_helper(target, args.key):
                    subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
                print(f"mockserver cli-env: git answers {target} with this key (git config --global "
                      f"credential.{target}.helper)", file=sys.stderr)
    except (SetupError, SettingError) as exc:
        print(f"mockserver cli-env: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"mockserver cli-env: {' '.join(exc.cmd[:4])} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"export ALGORITHMIA_API={shlex.quote(url)}")
    print(f"export ALGORITHMIA_API_KEY={shlex.quote(args.key)}")
    return 0
