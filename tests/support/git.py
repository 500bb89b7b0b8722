"""Pushing a folder to an algorithm's repository with the stock `git` command, as a user would:
a credential helper answers the API key as the password."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def git_env(home: Path, key: str, *, date: str | None = None) -> dict:
    """An environment for `git` with its own HOME; ``date`` fixes commit dates (same commits every run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ALGORITHMIA_"))}
    env.update(HOME=str(home), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Dev",
               GIT_AUTHOR_EMAIL="dev@example.com", GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[credential]\n\thelper = \"!f() { echo username=demo; echo password=%s; }; f\"\n" % key)
    return env


def git(*args: str, cwd: Path, env: dict) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout.strip()


def push_folder(url: str, owner: str, name: str, folder: Path, home: Path, env: dict) -> str:
    """Clone ``owner/name``, replace its files by ``folder``'s, commit and push: the new commit."""
    git("clone", "-q", f"{url}/git/{owner}/{name}.git", cwd=home, env=env)
    repo = home / name
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(folder, repo, dirs_exist_ok=True)
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-qm", f"{name} from {folder.name}", cwd=repo, env=env)
    git("push", "-q", cwd=repo, env=env)
    return git("rev-parse", "HEAD", cwd=repo, env=env)
