"""Every dependency in pyproject.toml is pinned to the minor version the tests run on (the
house rule: a new minor release is taken only after the suite has run on it), and the
environment the tests run in satisfies the pins (so a pin never claims an untested range)."""
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")        # Python 3.11+

PROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(line) for line in lines]
          for name, lines in PROJECT["optional-dependencies"].items()}


def upper_bound(req: Requirement) -> Version | None:
    """The lowest version the requirement excludes from above (None: no upper bound)."""
    bounds = [Version(s.version) for s in req.specifier if s.operator in ("<", "<=", "==", "~=")]
    return min(bounds) if bounds else None


def lower_bound(req: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return max(bounds) if bounds else None


def next_minor(version: Version) -> Version:
    """The first release the tests have not run on: the next minor."""
    major, minor = (version.release + (0,))[:2]
    return Version(f"{major}.{minor + 1}")


ALL = [(None, r) for r in RUNTIME] + [(extra, r) for extra, reqs in EXTRAS.items() for r in reqs]


@pytest.mark.parametrize("extra,req", ALL, ids=[f"{e or 'runtime'}:{r.name}" for e, r in ALL])
def test_every_dependency_is_pinned_to_its_minor_version(extra, req):
    low, high = lower_bound(req), upper_bound(req)
    assert low is not None, f"{req} has no lower bound"
    assert high is not None, f"{req} ({extra or 'runtime'}) has no upper bound"
    assert high <= next_minor(low), f"{req} allows more than one minor version (write ~=X.Y.Z)"


def test_a_dependency_named_twice_has_one_pin():
    seen: dict[str, tuple[str, str]] = {}
    for extra, req in ALL:
        where = extra or "runtime"
        if req.name in seen:
            assert str(req.specifier) == seen[req.name][1], (
                f"{req.name}: {where} says {req.specifier}, {seen[req.name][0]} says {seen[req.name][1]}")
        else:
            seen[req.name] = (where, str(req.specifier))


@pytest.mark.parametrize("extra,req", ALL, ids=[f"{e or 'runtime'}:{r.name}" for e, r in ALL])
def test_the_installed_version_satisfies_the_pin(extra, req):
    try:
        installed = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        if extra is None or extra == "test":
            raise AssertionError(f"{req.name} is required ({extra or 'runtime'}) but not installed")
        pytest.skip(f"extra '{extra}' is not installed here")
    assert req.specifier.contains(installed, prereleases=True), (
        f"{req.name} {installed} is installed, outside the pin {req.specifier}: run the tests on it and move the pin")
