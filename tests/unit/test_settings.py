"""One Settings: flag > MOCKSERVER_* variable > default, for the command and the pytest plugin."""
from pathlib import Path

import pytest

from mockserver import plugin
from mockserver.serving import cli
from mockserver.settings import OPTIONS, Settings, SettingError, markdown_table

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
    def __init__(self, **options):
        self.options = options

    def getoption(self, name):
        return self.options.get(name)


def test_the_plugin_honours_the_environment():
    env = {"MOCKSERVER_SEED": "7", "MOCKSERVER_CLOCK": "frozen", "MOCKSERVER_JOURNAL_SIZE": "9",
           "MOCKSERVER_HOST": "0.0.0.0", "MOCKSERVER_CONTROL_KEY": "from-env"}
    s = plugin.plugin_settings(_Config(), env)
    assert (s.seed, s.clock, s.journal_size, s.control_key) == (7, "frozen", 9, "from-env")
    assert s.host == "127.0.0.1" and s.port == 0          # always loopback, a free port
    assert s.profile_scale == 0.0                         # the plugin's own default


def test_the_plugins_options_win_over_the_environment():
    s = plugin.plugin_settings(_Config(**{"--mockserver-seed": 3, "--mockserver-profile-scale": 0.5}),
                               {"MOCKSERVER_SEED": "7", "MOCKSERVER_PROFILE_SCALE": "2"})
    assert (s.seed, s.profile_scale) == (3, 0.5)
    assert plugin.plugin_settings(_Config(), {}).control_key            # random when none is given


def test_every_setting_is_in_the_readme_table():
    assert markdown_table() in SETTINGS_DOC.read_text()
    assert len(OPTIONS) == len(Settings.__dataclass_fields__)
