"""The compiled spec: the same operations as jsonschema_path's resolution of the documents,
and a cache file that is used only when it is whole, this user's and private."""
import os
import threading

import pytest
from jsonschema_path import SchemaPath

from mockserver.edge import spec_cache
from mockserver.edge.spec import METHODS, ApiSpec, compile_documents, load_document, materialise
from mockserver.resources import resource_path


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "algorithmia-mock" / "spec"


def _cache_files(directory):
    return sorted(p for p in directory.iterdir() if p.suffix == ".bin")


def _reference_operations(document):
    """Each operation's parameters and body as jsonschema_path resolves them (what the spec
    was built from before it was compiled and cached)."""
    paths = SchemaPath.from_dict(document) / "paths"
    found = {}
    for template in paths.keys():
        item = paths / template
        shared = list(item / "parameters") if "parameters" in item else []
        for method in METHODS:
            if method not in item:
                continue
            node = item / method
            params = {}
            for pnode in shared + (list(node / "parameters") if "parameters" in node else []):
                p = materialise(pnode)
                params[(p["name"], p["in"])] = (p["name"], p["in"], bool(p.get("required")),
                                                p.get("schema", {"type": "string"}))
            body = None
            if "requestBody" in node:
                rb = materialise(node / "requestBody")
                body = (bool(rb.get("required")), ((rb.get("content") or {}).get("application/json") or {}).get("schema"))
            found[node.read_value()["operationId"]] = (list(params.values()), body)
    return found


def _operations(spec):
    return {op.id: ([(p.name, p.location, p.required, p.schema) for p in op.params],
                    None if op.body is None else (op.body.required, op.body.schema))
            for op in spec.operations.values()}


def test_compiled_operations_resolve_refs_as_jsonschema_path_does(cache_home):
    spec = ApiSpec.load()
    expected = {}
    for name in ("algorithmia.yaml", "control.yaml"):
        expected.update(_reference_operations(load_document(resource_path("openapi", name))))
    assert _operations(spec) == expected


def test_the_second_load_reads_the_cache_and_builds_the_same_spec(cache_home, monkeypatch):
    first = ApiSpec.load()
    assert len(_cache_files(cache_home)) == 1
    compiled = []
    monkeypatch.setattr("mockserver.edge.spec.compile_documents",
                        lambda *a: compiled.append(a) or compile_documents(*a))
    second = ApiSpec.load()
    assert compiled == []                                  # nothing parsed or generated again
    assert _operations(second) == _operations(first)
    for op in second.operations.values():
        assert all(p.validator.compiled for p in op.params)
        assert op.body is None or op.body.validator is None or op.body.validator.compiled
    assert second.document == first.document and second.control_document == first.control_document
    body = second.operations["createAlgorithm"].body.validator
    settings = {"language": "python3-1", "source_visibility": "open", "license": "apl", "network_access": "isolated",
                "pipeline_enabled": False, "environment": "cpu"}
    assert body.best_error({"name": "Ok", "details": {"label": "x"}, "settings": settings}) is None
    assert body.best_error({"name": 3, "details": {"label": "x"}, "settings": settings}).message == "3 is not of type 'string'"


def test_a_changed_document_is_a_different_key(cache_home, tmp_path):
    copy = tmp_path / "algorithmia.yaml"
    text = resource_path("openapi", "algorithmia.yaml").read_text()
    copy.write_text(text)
    ApiSpec.load(copy)
    copy.write_text(text.replace("operationId: getAlgorithm\n", "operationId: getAlgorithmRenamed\n", 1))
    spec = ApiSpec.load(copy)
    assert "getAlgorithmRenamed" in spec.operations and "getAlgorithm" not in spec.operations
    assert len(_cache_files(cache_home)) == 2


def test_a_damaged_cache_file_is_rebuilt(cache_home):
    ApiSpec.load()
    (path,) = _cache_files(cache_home)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF                                      # the digest no longer matches
    path.write_bytes(bytes(data))
    spec = ApiSpec.load()
    assert "createAlgorithm" in spec.operations
    assert spec_cache.load(path.stem) is not None          # rewritten whole


@pytest.mark.parametrize("damage", ["truncated", "other_format", "wrong_key", "not_marshal"])
def test_cache_load_refuses_what_is_not_a_whole_file_of_its_key(tmp_path, damage):
    assert spec_cache.store("k1", {"a": [1, 2]}, tmp_path)
    path = tmp_path / "k1.bin"
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-3])
    elif damage == "other_format":
        path.write_bytes(data.replace(b"cache 1", b"cache 9", 1))
    elif damage == "wrong_key":
        os.replace(path, tmp_path / "k2.bin")
        path = tmp_path / "k2.bin"
    else:
        header = spec_cache.FORMAT + b"k1\n"
        body = b"\xff not marshal"
        path.write_bytes(header + spec_cache._DIGEST(body).digest() + body)
    assert spec_cache.load(path.stem, tmp_path) is None


def test_cache_load_refuses_files_others_may_write_and_links(tmp_path):
    assert spec_cache.store("k", {"a": 1}, tmp_path)
    assert spec_cache.load("k", tmp_path) == {"a": 1}
    path = tmp_path / "k.bin"
    path.chmod(0o620)                                      # group-writable
    assert spec_cache.load("k", tmp_path) is None
    path.chmod(0o600)
    tmp_path.chmod(0o777)                                  # a directory anyone may write
    assert spec_cache.load("k", tmp_path) is None
    tmp_path.chmod(0o700)
    os.replace(path, tmp_path / "real.bin")
    os.symlink(tmp_path / "real.bin", path)
    assert spec_cache.load("k", tmp_path) is None
    linked_dir = tmp_path.parent / (tmp_path.name + "-link")
    os.symlink(tmp_path, linked_dir)
    assert spec_cache.load("real", linked_dir) is None


def test_store_makes_a_private_directory_and_file(tmp_path):
    directory = tmp_path / "a" / "spec"
    assert spec_cache.store("k", [1], directory)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "k.bin").stat().st_mode & 0o777 == 0o600
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp-")]


def test_an_unwritable_cache_costs_only_the_rebuild(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert not spec_cache.store("k", [1])
    assert spec_cache.load("k") is None
    assert "createAlgorithm" in ApiSpec.load().operations


def test_concurrent_writers_and_readers_see_whole_files_only(tmp_path):
    values = [{"n": i, "pad": "x" * 50_000} for i in range(4)]
    seen, problems = [], []

    def write(value):
        for _ in range(25):
            if not spec_cache.store("k", value, tmp_path):
                problems.append("store failed")

    def read():
        for _ in range(100):
            got = spec_cache.load("k", tmp_path)
            if got is not None:
                seen.append(got["n"])
                if got not in values:
                    problems.append("torn read")

    threads = [threading.Thread(target=write, args=(v,)) for v in values] + \
              [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert problems == []
    assert spec_cache.load("k", tmp_path) in values
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
