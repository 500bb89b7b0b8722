"""Issue 30: on a fresh machine, following only the README, a new user reaches `algo clone` of a new
algorithm in three commands after the server starts. The README's CLI block runs here exactly as
written, in bash, with an empty HOME (no profile, no git configuration), git's system configuration
ignored and git forbidden to prompt; the server is the `mockserver` command, on a free port given
the way the README's commands pick it up (MOCKSERVER_HOST / MOCKSERVER_PORT)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import toml

from support.api import DEMO
from support.processes import served

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent          # mockserver and algo, installed next to this Python

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("curl") is None,
                                reason="the README's CLI block needs git and curl")


def readme_cli_block() -> str:
    (block,) = [b for b in re.findall(r"^```sh\n(.*?)^```", README, re.S | re.M) if "mockserver cli-env" in b]
    return block


def commands(block: str) -> list[str]:
    """The block's commands (a trailing backslash or an open quote continues a line)."""
    found, current = [], ""
    for line in block.splitlines():
        current += line + "\n"
        if not line.endswith("\\") and current.count("'") % 2 == 0:
            found.append(current.strip())
            current = ""
    return [c for c in found if c and not c.startswith("#")]


def fresh_machine(tmp_path: Path, port: int) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALGORITHMIA_", "MOCKSERVER_", "GIT_", "XDG_CONFIG"))}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", GIT_CONFIG_NOSYSTEM="1",
               GIT_TERMINAL_PROMPT="0", MOCKSERVER_HOST="127.0.0.1", MOCKSERVER_PORT=str(port))
    return env


def bash(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


def test_the_readme_has_three_commands_from_nothing_to_algo_clone():
    steps = commands(readme_cli_block())
    assert len(steps) == 3, steps
    assert steps[0].startswith('eval "$(mockserver cli-env') and steps[-1].startswith("algo clone ")


def test_the_readmes_cli_block_runs_as_written(tmp_path):
    block = readme_cli_block()
    work = tmp_path / "work"
    work.mkdir()
    with served() as (url, port, _proc):
        env = fresh_machine(tmp_path, port)
        done = bash(block, work, env)
        assert done.returncode == 0, (done.stdout, done.stderr)
        clone = work / "Shout"
        assert (clone / "src" / "Shout.py").exists() and (clone / ".git").is_dir(), done.stdout + done.stderr

        # what the README promises next, with no prompt: algo ls, algo run, git commit and push
        config = toml.loads((tmp_path / "home" / ".algorithmia" / "config").read_text())
        assert config["profiles"]["default"]["api_server"] == url
        after = bash('algo ls && algo run demo/Hello -t Neo && cd Shout'
                     ' && printf "def apply(input):\\n    return str(input).upper()\\n" > src/Shout.py'
                     ' && git -c user.name=New -c user.email=new@example.com commit -qam shout && git push -q',
                     work, env)
        assert after.returncode == 0, (after.stdout, after.stderr)
        assert after.stdout.split() == ["demo/", "acme/", "Hello", "Neo"]
        builds = requests.get(f"{url}/v1/algorithms/demo/Shout/builds",
                              headers={"Authorization": f"Simple {DEMO}"}, timeout=10).json()["results"]
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work / "Shout", env=env, capture_output=True,
                              text=True, timeout=30).stdout.strip()
        assert head in [b["commit_sha"] for b in builds]
