"""README.md and docs/*.md as a newcomer reads them: runnable blocks are complete,
the test file and the fixture of the guide run as written, and every file named exists."""
import re
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from mockserver.app import create_app
from mockserver.settings import Settings

from support.docs import DOCS, ROOT, blocks, the_block

GUIDE = (ROOT / "docs" / "ways-in.md").read_text()
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("doc", DOCS)
def test_runnable_blocks_have_no_placeholders(doc):
    text = (ROOT / doc).read_text()
    for lang in ("python", "sh", "yaml", "js"):
        for block in blocks(text, lang):
            assert not re.search(r"^\s*\.\.\.\s*$|\(\.\.\.\)", block, re.M), f"placeholder in a {lang} block:\n{block}"


def test_install_commands_name_no_package_index_release():
    for text in (GUIDE, README):
        assert not re.search(r"pip install algorithmia-mock\b", text), "the package is not on PyPI"
    assert "pip install '.[pytest]'" in GUIDE and "pip install '.[pytest]'" in README


def test_ci_runs_the_readmes_test_command():
    """.ci/run runs the suite as the README tells a developer to (pip told to be quiet aside)."""
    command = the_block("README.md", "sh", " -m pytest").strip()
    assert "\n" not in command
    assert command.replace("pip install -e", "pip install -q -e") in (ROOT / ".ci" / "run").read_text()


def test_the_pytest_extra_exists():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^pytest = \[\"pytest(>=|~=)\d", pyproject, re.M)


@pytest.mark.parametrize("doc", DOCS)
def test_files_named_exist(doc):
    path = ROOT / doc
    text = path.read_text()
    named = set(re.findall(r"`([\w.-]+(?:/[\w.-]+)*\.(?:py|md|ya?ml|toml|png|txt|json))`", text))
    named |= {link for link in re.findall(r"\]\(([^)#:]+)\)", text)}
    # the reader's own files in the examples, and those of a cloned algorithm repository
    user_files = {"my.yaml", "extra.yaml", "requirements.txt", "src/__init__.py"}
    # module names in the architecture notes are relative to the package
    missing = [n for n in sorted(named - user_files)
               if not any((base / n).exists() for base in (ROOT, path.parent, ROOT / "mockserver"))]
    assert missing == [], f"{doc} names files that do not exist: {missing}"


def test_the_guides_fixture_loads_on_top_of_the_sandbox(tmp_path):
    (fixture,) = [b for b in blocks(GUIDE, "yaml") if b.startswith("# my.yaml")]
    (tmp_path / "my.yaml").write_text(fixture)
    app = create_app(Settings(profile_scale=0.0, extra_fixtures=[str(tmp_path / "my.yaml")]))
    try:
        c = app.test_client()
        key = re.search(r"key: (\w+)", fixture).group(1)
        assert key in GUIDE.split("```yaml\n# my.yaml")[1].split("## SDK authors")[0]   # the curl uses it
        assert c.get("/v1/users/ci_user/algorithms", headers={"Authorization": f"Simple {key}"}).status_code == 200
        assert c.get("/v1/users/demo/algorithms", headers={"Authorization": "Simple simDemoSandboxKey0000000000"}).status_code == 200
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()


@pytest.mark.skipif(not any(ep.value == "mockserver.plugin" for ep in entry_points(group="pytest11")),
                    reason="algorithmia-mock is not installed (pip install -e '.[test]')")
def test_the_guides_and_readmes_test_files_run_as_written(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    # the pytest plugin's examples (the Testcontainers one runs in tests/ways/test_testcontainer.py)
    (guide_tests,) = [b for b in blocks(GUIDE, "python") if "def test_" in b and "(mockserver)" in b]
    (readme_tests,) = [b for b in blocks(README, "python") if "def test_" in b and "(mockserver)" in b]
    (tests / "test_client.py").write_text(guide_tests)
    (tests / "test_readme.py").write_text(readme_tests)
    (fixture,) = [b for b in blocks(GUIDE, "yaml") if b.startswith("# my.yaml")]
    (tmp_path / "my.yaml").write_text(fixture)
    # the guide's own command line: the sandbox plus my.yaml
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/",
                        "--mockserver-extra-fixtures", "my.yaml"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    count = len(re.findall(r"^def test_", guide_tests + readme_tests, re.M))
    assert f"{count} passed" in r.stdout, r.stdout[-2000:]
