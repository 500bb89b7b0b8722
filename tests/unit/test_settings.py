"""One Settings: flag > MOCKSERVER_* variable > default, for the command and the pytest plugin."""
from pathlib import Path

import pytest

import mockserver
from mockserver import plugin
from mockserver.app import create_app
from mockserver.serving import cli
from mockserver.settings import (OPTIONS, PLUGIN_FIXED, PLUGIN_OPTIONS, Settings, SettingError, markdown_table,
                                 secret_variables)

SETTINGS_DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_a_flag_wins_over_the_environment_which_wins_over_the_default():
    env = {"MOCKSERVER_PAGE_MAX": "200", "MOCKSERVER_JOURNAL_SIZE": "7", "MOCKSERVER_PUBLIC_URL": "http://env"}
    s = Settings.load(cli.parse_args(["--page-max", "300"]), env)
    assert s.page_max == 300                      # flag
    assert s.journal_size == 7                    # env
    assert s.public_url == "http://env"
    assert s.page_default == 50 and s.threads == 32 and s.workers == 1   # defaults


def test_an_entry_points_default_sits_below_the_environment():
    assert Settings.load({}, {}, profile_scale=0.0).profile_scale == 0.0
    assert Settings.load({}, {"MOCKSERVER_PROFILE_SCALE": "2"}, profile_scale=0.0).profile_scale == 2.0


def test_lists_and_aliases_from_the_environment():
    s = Settings.load({}, {"MOCKSERVER_FIXTURES": "a.yaml:b.yaml", "MOCKSERVER_PUBLIC_NAMES": "mock, api.test",
                           "MOCKSERVER_BODY_TIMEOUT": "2"})
    assert (s.fixtures, s.public_names, s.idle_timeout) == (["a.yaml", "b.yaml"], ["mock", "api.test"], 2.0)
    assert Settings.load({}, {"MOCKSERVER_IDLE_TIMEOUT": "5", "MOCKSERVER_BODY_TIMEOUT": "2"}).idle_timeout == 5.0


def test_repeated_fixture_flags_accumulate_like_algorithms_dir(capsys):
    """--extra-fixtures a.yaml --extra-fixtures b.yaml keeps both (issue 28), as --algorithms-dir does."""
    args = cli.parse_args(["--fixtures", "a.yaml", "--fixtures", "b.yaml", "c.yaml", "--extra-fixtures", "x.yaml",
                           "--extra-fixtures", "y.yaml", "--algorithms-dir", "d1", "--algorithms-dir", "d2"])
    s = Settings.load(args, {"MOCKSERVER_EXTRA_FIXTURES": "ignored.yaml"})
    assert s.fixtures == ["a.yaml", "b.yaml", "c.yaml"] and s.extra_fixtures == ["x.yaml", "y.yaml"]
    assert s.algorithm_dirs == ["d1", "d2"]
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    options = " ".join(capsys.readouterr().out.split()).split("options:", 1)[1]
    for flag in ("--fixtures", "--extra-fixtures"):
        described = options.split(f" {flag} PATH [PATH ...] ", 1)[1].split(" --", 1)[0]
        assert "repeatable" in described and "accumulate" in described, described


def test_a_bad_variable_is_named():
    with pytest.raises(SettingError, match="MOCKSERVER_PORT='eighty'"):
        Settings.load({}, {"MOCKSERVER_PORT": "eighty"})
    with pytest.raises(SettingError, match="MOCKSERVER_CLOCK"):
        Settings.load({}, {"MOCKSERVER_CLOCK": "slow"})


def test_the_command_refuses_more_than_one_worker(capsys):
    assert cli.main(["--workers", "2"]) == 2
    assert "ONE" in capsys.readouterr().err


class _Config:
    """pytest's ``config.getoption`` over given option values (by dest; None: not given)."""

    def __init__(self, **options):
        self.options = options

    def getoption(self, name):
        return self.options.get(name)


class _Group:
    def __init__(self):
        self.added: dict[str, dict] = {}

    def addoption(self, flag, **kwargs):
        assert flag not in self.added, f"{flag} declared twice"
        self.added[flag] = kwargs


class _Parser:
    def __init__(self):
        self.group = _Group()

    def getgroup(self, name, description=""):
        return self.group


def _plugin_options() -> dict[str, dict]:
    parser = _Parser()
    plugin.pytest_addoption(parser)
    return parser.group.added


def test_every_setting_is_a_plugin_option_and_every_plugin_option_a_setting_or_the_plugins_own():
    added = _plugin_options()
    expected = {f"--mockserver-{o.flag[2:]}": o for o in OPTIONS if o.name not in PLUGIN_FIXED}
    expected.update({f"--mockserver-{o.flag[2:]}": o for o in PLUGIN_OPTIONS})
    assert set(added) == set(expected)
    assert set(PLUGIN_FIXED) == {"host", "port", "cpu"}     # the session's server: loopback, a free port, no pinning
    assert "--mockserver-url" in added and "--mockserver-seed" in added and "--mockserver-algorithms-dir" in added
    for flag, kwargs in added.items():
        option = expected[flag]
        # the row's meaning, a setting's flag named in it as the plugin's option, and the variable
        assert option.meaning.replace("`--", "`--mockserver-") in kwargs["help"], flag
        assert f"env {option.env}" in kwargs["help"], flag
        assert kwargs["default"] is None, flag           # not given: the variable, then the default, apply
    assert "random" in added["--mockserver-control-key"]["help"]
    assert "default 0" in added["--mockserver-profile-scale"]["help"]
    # one file per flag: `--mockserver-fixtures a.yaml test_x.py` keeps test_x.py a test path
    assert added["--mockserver-fixtures"]["action"] == "append" and "nargs" not in added["--mockserver-fixtures"]


def _run(env, **options):
    return plugin.plugin_run(_Config(**options), env)


def test_the_plugin_honours_the_environment():
    env = {"MOCKSERVER_SEED": "7", "MOCKSERVER_CLOCK": "frozen", "MOCKSERVER_JOURNAL_SIZE": "9",
           "MOCKSERVER_HOST": "0.0.0.0", "MOCKSERVER_PORT": "8080", "MOCKSERVER_CONTROL_KEY": "from-env"}
    run = _run(env)
    s = run.settings
    assert (s.seed, s.clock, s.journal_size, s.control_key) == (7, "frozen", 9, "from-env")
    assert s.host == "127.0.0.1" and s.port == 0          # always loopback, a free port
    assert s.profile_scale == 0.0                         # the plugin's own default
    assert s.state_memory_mb == 0 and Settings().state_memory_mb == 2048   # the test process's RSS is the tests'
    assert _run({"MOCKSERVER_STATE_MEMORY_MB": "512"}).settings.state_memory_mb == 512
    assert run.url is None


def test_the_plugins_options_win_over_the_environment():
    s = _run({"MOCKSERVER_SEED": "7", "MOCKSERVER_PROFILE_SCALE": "2", "MOCKSERVER_THREADS": "6"},
             mockserver_seed=3, mockserver_profile_scale=0.5, mockserver_fixtures=["a.yaml", "b.yaml"]).settings
    assert (s.seed, s.profile_scale, s.fixtures, s.threads) == (3, 0.5, ["a.yaml", "b.yaml"], 6)
    first, second = _run({}).settings.control_key, _run({}).settings.control_key
    assert first and second and first != second            # random, per session, when none is given
    assert _run({"MOCKSERVER_PROFILE_SCALE": "2"}).settings.profile_scale == 2.0   # the variable over the plugin's 0


def test_remote_mode_from_the_option_or_the_variable_with_the_shared_servers_key():
    run = _run({"MOCKSERVER_URL": "http://ci:8080", "MOCKSERVER_CONTROL_KEY": "ci-key"})
    assert run.url == "http://ci:8080" and run.settings.control_key == "ci-key"
    assert run.settings.profile_scale == 0.0               # the sandbox made there: no simulated delays
    run = _run({"MOCKSERVER_URL": "http://ci:8080"}, mockserver_url="http://other:9", mockserver_control_key="k")
    assert (run.url, run.settings.control_key) == ("http://other:9", "k")
    # no key given: none (a random one would only be refused by the shared server)
    assert _run({}, mockserver_url="http://ci:8080").settings.control_key is None


def test_secret_variables_are_the_keys_settings_reads():
    assert set(secret_variables()) == {"MOCKSERVER_CONTROL_KEY", "MOCKSERVER_ADMIN_KEY"}
    s = Settings.load({}, {"MOCKSERVER_CONTROL_KEY": "c", "MOCKSERVER_ADMIN_KEY": "a"})
    assert (s.control_key, s.admin_key) == ("c", "a")


def test_create_app_needs_the_runs_settings(monkeypatch):
    """No hidden Settings.load() below the entry points (docs/architecture.md)."""
    monkeypatch.setenv("MOCKSERVER_PAGE_MAX", "7")
    with pytest.raises(TypeError):
        create_app()
    with pytest.raises(TypeError, match="Settings"):
        create_app(None)
    with pytest.raises(TypeError):
        mockserver.create_app()


def test_every_setting_is_in_the_readme_table():
    assert markdown_table() in SETTINGS_DOC.read_text()
    assert len(OPTIONS) == len(Settings.__dataclass_fields__)
