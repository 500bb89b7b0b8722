"""`mockserver cli-env` (mockserver/serving/cli_env.py): the algo profile, git's credentials, the exports."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
import toml

from mockserver.serving import cli, cli_env

KEY = "simDemoSandboxKey0000000000"


@pytest.fixture()
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("MOCKSERVER_HOST", "MOCKSERVER_PORT", "MOCKSERVER_URL_PREFIX", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    return home


def config(home) -> dict:
    return toml.loads((home / ".algorithmia" / "config").read_text())


def git_helpers(url: str) -> list[str]:
    return subprocess.run(["git", "config", "--global", "--get-all", f"credential.{url}.helper"],
                          capture_output=True, text=True, timeout=30).stdout.splitlines()


def test_writes_the_profile_and_prints_the_exports(home, capsys):
    assert cli.main(["cli-env", "--key", KEY, "--url", "http://127.0.0.1:9000/"]) == 0
    out = capsys.readouterr().out
    assert out == f"export ALGORITHMIA_API=http://127.0.0.1:9000\nexport ALGORITHMIA_API_KEY={KEY}\n"
    assert config(home) == {"profiles": {"default": {"api_key": KEY, "api_server": "http://127.0.0.1:9000",
                                                     "ca_cert": "", "bearer_token": ""}}}
    assert stat.S_IMODE((home / ".algorithmia" / "config").stat().st_mode) == 0o600


def test_other_profiles_are_kept_and_the_named_one_replaced(home):
    path = home / ".algorithmia" / "config"
    path.parent.mkdir()
    path.write_text('[profiles.default]\napi_key = "old"\napi_server = "https://api.example.com"\n'
                    'ca_cert = ""\nbearer_token = ""\n[profiles.prod]\napi_key = "p"\napi_server = "https://api.x"\n'
                    'ca_cert = ""\nbearer_token = ""\n')
    assert cli_env.main(["--key", KEY, "--url", "http://127.0.0.1:9000", "--profile", "mock"]) == 0
    profiles = config(home)["profiles"]
    assert set(profiles) == {"default", "prod", "mock"} and profiles["default"]["api_key"] == "old"
    assert profiles["mock"]["api_server"] == "http://127.0.0.1:9000"


def test_the_url_defaults_to_where_mockserver_serves(home, monkeypatch, capsys):
    assert cli_env.main(["--key", KEY]) == 0
    assert "ALGORITHMIA_API=http://127.0.0.1:8080\n" in capsys.readouterr().out
    monkeypatch.setenv("MOCKSERVER_HOST", "0.0.0.0")
    monkeypatch.setenv("MOCKSERVER_PORT", "9123")
    assert cli_env.main(["--key", KEY]) == 0
    assert config(home)["profiles"]["default"]["api_server"] == "http://127.0.0.1:9123"


@pytest.mark.parametrize("args,words", [
    (["--key", KEY, "--url", "ftp://127.0.0.1"], "give the mock's address"),
    (["--key", KEY, "--url", "http://127.0.0.1:8080/x'; rm -rf ~"], "give the mock's address"),
    (["--key", "a key; rm -rf ~", "--url", "http://127.0.0.1:8080"], "--key"),
    (["--key", "~evil", "--url", "http://127.0.0.1:8080"], "--key"),
])
def test_bad_input_writes_nothing_and_exits_2(home, capsys, args, words):
    assert cli_env.main(args) == 2
    assert words in capsys.readouterr().err
    assert not (home / ".algorithmia").exists() and not (home / ".gitconfig").exists()


def test_a_config_the_cli_cannot_read_is_left_alone(home, capsys):
    path = home / ".algorithmia" / "config"
    path.parent.mkdir()
    path.write_text("[profiles\nbroken")
    assert cli_env.main(["--key", KEY, "--url", "http://127.0.0.1:8080"]) == 2
    assert "not a TOML file" in capsys.readouterr().err
    assert path.read_text() == "[profiles\nbroken"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_answers_that_address_only_and_rerunning_replaces_the_helper(home):
    assert cli_env.main(["--key", KEY, "--url", "http://api.mock:9000"]) == 0
    assert cli_env.main(["--key", KEY, "--url", "http://api.mock:9000"]) == 0
    for url in ("http://api.mock:9000", "http://git.mock:9000"):      # algo clone turns api. into git.
        helpers = git_helpers(url)
        assert len(helpers) == 2 and helpers[0] == "" and KEY in helpers[1]
    assert subprocess.run(["git", "config", "--global", "--get-all", "credential.helper"],
                          capture_output=True, text=True, timeout=30).stdout == ""
    fill = subprocess.run(["git", "credential", "fill"], input="protocol=http\nhost=git.mock:9000\n\n",
                          capture_output=True, text=True, timeout=30, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    assert f"password={KEY}" in fill.stdout.splitlines()
    other = subprocess.run(["git", "credential", "fill"], input="protocol=http\nhost=elsewhere:9000\n\n",
                           capture_output=True, text=True, timeout=30, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    assert KEY not in other.stdout                                   # another server gets nothing


def test_without_git_the_profile_is_still_written(home, monkeypatch, capsys):
    monkeypatch.setattr(cli_env.shutil, "which", lambda name: None)
    assert cli_env.main(["--key", KEY, "--url", "http://127.0.0.1:8080"]) == 0
    assert "git is not installed" in capsys.readouterr().err
    assert config(home)["profiles"]["default"]["api_key"] == KEY


def test_the_server_command_still_serves_without_a_subcommand_and_names_it_in_its_help(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    assert "mockserver cli-env" in capsys.readouterr().out
    assert cli.parse_args(["--port", "9"]).port == 9
