"""Algorithm repositories as values, their checkouts, and the offline requirements step."""
import os
import sys

import pytest
from dulwich.objects import Blob, Commit, Tree

from mockserver.domain import gitbuilds
from mockserver.domain.repository import (DEFAULT_BRANCH, Repository, folder_files, initial, template_files)
from mockserver.runtime import Binding
from mockserver.runtime.importcheck import ImportChecks
from mockserver.runtime.isolation import Isolation


def import_check(folder, entry="src/A.py"):
    """The runtime's import check of a build (its own checker process), as (ok, output)."""
    checks = ImportChecks(Isolation())
    try:
        problem, trace = checks.check_traced(Binding(f"{folder}/{entry}:apply"), 30, env={})
    finally:
        checks.stop()
    return problem is None, (trace or problem or "")


def test_the_python_template_answers_like_the_platform_template(tmp_path):
    files = template_files("Hello", "python3-1")
    assert set(files) == {"src/Hello.py", "src/__init__.py", "src/Hello_test.py", "requirements.txt", "README.md"}
    namespace = {}
    exec(compile(files["src/Hello.py"].replace(b"import Algorithmia\n", b""), "Hello.py", "exec"), namespace)
    from mockserver.runtime.template import apply
    assert namespace["apply"]("Jane") == apply("Jane") == "hello Jane"


def test_other_languages_get_their_own_files():
    assert "src/Jay.js" in template_files("Jay", "javascript")
    assert "src/main/java/algorithmia/Jay/Jay.java" in template_files("Jay", "java")
    assert not any(path.endswith(".py") for path in template_files("Jay", "rust"))


def test_initial_commit_checks_out_the_files(tmp_path):
    files = {"a.txt": b"A", "src/deep/b.py": b"B"}
    repo = initial(files, "first", 1_700_000_000)
    head = repo.head()
    assert repo.has_commit(head) and not repo.has_commit("0" * 40)
    assert {path: content for path, _, content in repo.files(head)} == files
    folder = repo.checkout(head, str(tmp_path))
    assert folder == os.path.join(tmp_path, head)
    assert (tmp_path / head / "src" / "deep" / "b.py").read_bytes() == b"B"
    assert repo.checkout(head, str(tmp_path)) == folder          # content-addressed: reused


def test_the_same_files_and_time_give_the_same_commit():
    assert initial({"x": b"1"}, "m", 5).head() == initial({"x": b"1"}, "m", 5).head()
    assert initial({"x": b"1"}, "m", 5).head() != initial({"x": b"2"}, "m", 5).head()


def test_json_round_trip():
    repo = initial({"src/a.py": b"def apply(i): return i\n"}, "m", 7)
    data = repo.to_json()
    back = Repository.from_json(data)
    assert back.refs == repo.refs and set(back.objects) == set(repo.objects)
    assert back.to_json() == data


def test_a_tampered_object_is_refused():
    data = initial({"a": b"1"}, "m", 7).to_json()
    sha = next(iter(data["objects"]))
    data["objects"][sha] = [3, "dGFtcGVyZWQ="]
    with pytest.raises(ValueError):
        Repository.from_json(data)


def test_a_checkout_never_writes_outside_its_folder(tmp_path):
    blob = Blob.from_string(b"evil")
    inner = Tree()
    inner.add(b"ok.py", 0o100644, blob.id)
    tree = Tree()
    tree.add(b"..", 0o040000, inner.id)
    tree.add(b".git", 0o040000, inner.id)
    tree.add(b"link", 0o120000, blob.id)                 # a symlink
    tree.add(b"src", 0o040000, inner.id)
    commit = Commit()
    commit.tree, commit.author = tree.id, b"x <x@x>"
    commit.committer, commit.author_time = commit.author, 0
    commit.commit_time, commit.author_timezone, commit.commit_timezone = 0, 0, 0
    commit.message = b"m"
    repo = Repository({o.id: o for o in (blob, inner, tree, commit)}, {DEFAULT_BRANCH: commit.id})
    assert [path for path, _, _ in repo.files(commit.id.decode())] == ["src/ok.py"]
    folder = repo.checkout(commit.id.decode(), str(tmp_path / "cache"))
    assert sorted(os.listdir(folder)) == ["src"] and not (tmp_path / "ok.py").exists()


def test_folder_files_skip_hidden_and_caches(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "A.py").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / "src" / "__pycache__").mkdir()
    (tmp_path / "src" / "__pycache__" / "A.pyc").write_text("x")
    assert folder_files(str(tmp_path)) == {"src/A.py": b"x"}


def write_requirements(folder, text):
    (folder / "requirements.txt").write_text(text)
    return str(folder)


def test_installed_requirements_are_satisfied(tmp_path):
    lines, problem = gitbuilds.install_requirements(
        write_requirements(tmp_path, "# comment\nflask>=1\n\n--extra-index-url https://x\nnothing; python_version < '3'\n"),
        None)
    assert problem is None
    assert any("flask>=1: satisfied by the installed flask" in line for line in lines)
    assert any("ignored" in line for line in lines) and any("skipped" in line for line in lines)


@pytest.mark.parametrize("text,why", [
    ("surely-not-a-real-package-xyz==1.0\n", "no wheel folder is configured"),
    ("flask<0.1\n", "the installed version is"),
    ("not a [valid requirement\n", "cannot parse"),
])
def test_missing_requirements_fail_with_a_clear_line(tmp_path, text, why):
    lines, problem = gitbuilds.install_requirements(write_requirements(tmp_path, text), None)
    assert problem and why in problem and lines[-1].startswith("ERROR:")


def test_a_requirement_missing_from_the_wheel_folder_fails(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "src").mkdir()
    lines, problem = gitbuilds.install_requirements(
        write_requirements(tmp_path, "surely-not-a-real-package-xyz==1.0\n"), str(tmp_path / "wheels"))
    assert problem and "could not be installed from the wheel folder" in problem


def test_no_requirements_file_is_fine(tmp_path):
    lines, problem = gitbuilds.install_requirements(str(tmp_path), None)
    assert problem is None and "nothing to install" in lines[0]


def test_the_import_check_runs_in_another_process(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "A.py").write_text("import os\nPID = os.getpid()\nraise SystemExit(3)\n")
    ok, output = import_check(tmp_path)
    assert not ok and "SystemExit: 3" in output          # exiting the import did not exit this process
    (tmp_path / "src" / "A.py").write_text("def apply(x):\n    return x\n")
    assert import_check(tmp_path) == (True, "")
    assert sys.modules.get("A") is None


def make_wheel(folder, name="mockdep", version="1.2.0"):
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    import base64 as b64
    import hashlib
    import zipfile
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": b"VALUE = 'from the wheel'\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},sha256={b64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for path, data in files.items()) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        for path, data in files.items():
            whl.writestr(path, data)
        whl.writestr(f"{dist}/RECORD", record)


def test_a_requirement_installs_from_the_wheel_folder_next_to_the_entrypoint(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "src").mkdir()
    make_wheel(tmp_path / "wheels")
    (tmp_path / "src" / "A.py").write_text("import mockdep\n\ndef apply(x):\n    return mockdep.VALUE\n")
    lines, problem = gitbuilds.install_requirements(write_requirements(tmp_path, "mockdep==1.2.0\n"),
                                                    str(tmp_path / "wheels"))
    assert problem is None, lines
    assert lines[-1] == "  mockdep==1.2.0: installed from the wheel folder"
    assert import_check(tmp_path) == (True, "")


# -- fixtures: a source folder as the initial commit ---------------------------------------
def load_fixture_text(tmp_path, text):
    from mockserver.settings import Settings
    from mockserver.domain.context import Ctx
    from mockserver.fixtures import load_into
    from mockserver.ids import Clock, Ids
    from mockserver.domain.store import Store
    from mockserver.runtime import Engine
    from mockserver.runtime.checkouts import CheckoutCache
    path = tmp_path / "f.yaml"
    path.write_text(text)
    isolation = Isolation()
    ctx = Ctx(store=Store(), ids=Ids(1), clock=Clock("frozen"), settings=Settings(),
              engine=Engine(scale=0.0, isolation=isolation), checkouts=CheckoutCache(isolation))
    try:
        load_into(ctx, [str(path)])
    finally:
        ctx.engine.shutdown()
        ctx.checkouts.close()
    return ctx


USER = "users:\n  - {username: dev, email: dev@example.com, fullname: Dev}\n"


def test_a_fixture_repository_folder_becomes_the_initial_commit(tmp_path):
    (tmp_path / "shout" / "src").mkdir(parents=True)
    (tmp_path / "shout" / "src" / "Shout.py").write_text("def apply(input):\n    return str(input).upper()\n")
    ctx = load_fixture_text(tmp_path, USER + "algorithms:\n  - owner: dev\n    name: Shout\n"
                                            "    repository: shout\n    versions: [{version_type: minor}]\n")
    with ctx.store.read() as state:
        repo = state.repos["dev/Shout"]
        algo = state.algorithms["dev/Shout"]
        (build,) = algo.builds.values()
        assert build.commit_sha == repo.head() and build.from_repository and build.status == "succeeded"
        assert {path for path, _, _ in repo.files(repo.head())} == {"src/Shout.py"}
        assert algo.versions[0].git_hash == repo.head()


@pytest.mark.parametrize("extra,why", [
    ("    repository: ../elsewhere\n", "outside the fixture file's folder"),
    ("    repository: missing\n", "not a folder"),
    ("    repository: shout\n    binding: x.py:apply\n", "takes no binding"),
])
def test_a_fixture_repository_must_be_a_folder_beside_the_fixture(tmp_path, extra, why):
    from mockserver.fixtures import FixtureError
    (tmp_path / "shout").mkdir()
    (tmp_path.parent / "elsewhere").mkdir(exist_ok=True)
    with pytest.raises(FixtureError) as err:
        load_fixture_text(tmp_path, USER + "algorithms:\n  - owner: dev\n    name: Shout\n" + extra)
    assert why in err.value.reason


def test_a_fixture_repository_whose_build_fails_stops_the_load(tmp_path):
    from mockserver.fixtures import FixtureError
    (tmp_path / "bad" / "src").mkdir(parents=True)
    (tmp_path / "bad" / "src" / "Bad.py").write_text("def apply(input)\n")
    with pytest.raises(FixtureError) as err:
        load_fixture_text(tmp_path, USER + "algorithms:\n  - owner: dev\n    name: Bad\n"
                                           "    repository: bad\n    versions: [{version_type: minor}]\n")
    assert "SyntaxError" in err.value.reason


@pytest.mark.parametrize("mangle", [
    lambda d: d["objects"].update({"ab" * 20: [99, "eA=="]}),
    lambda d: d["objects"].update({"ab" * 20: "nope"}),
    lambda d: d["objects"].update({"ab" * 20: [3, "not base64!"]}),
    lambda d: d["refs"].update({"refs/heads/x": "cd" * 20}),
])
def test_a_malformed_export_is_refused_with_a_value_error(mangle):
    data = initial({"a": b"1"}, "m", 7).to_json()
    mangle(data)
    with pytest.raises(ValueError):
        Repository.from_json(data)


def test_pushed_files_cannot_stand_in_for_the_mocks_own_modules(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "mockserver").mkdir()
    (tmp_path / "mockserver" / "__init__.py").write_text("raise SystemExit(0)\n")    # would fake a passing check
    (tmp_path / "src" / "A.py").write_text("def other(x):\n    return x\n")
    monkeypatch.chdir(tmp_path)                          # even from the checkout's own folder
    ok, output = import_check(tmp_path)
    assert not ok and "apply" in output
