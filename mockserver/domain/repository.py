"""An algorithm's git repository as state: its objects and refs, with dulwich
(pure Python git) for the object formats.

A ``Repository`` is a value: a push produces a new one (``from_memory_repo``)
that replaces the old under the store lock, so readers never see a half
applied push. Git objects are immutable, so copies share them. It exports as
``{"refs": {name: sha}, "objects": {sha: [type_num, base64]}}`` (the state API).
"""
from __future__ import annotations

import base64
import functools
import os
import shutil
import tempfile
from typing import Any, Iterator

from dulwich.objects import Blob, Commit, ShaFile, Tree
from dulwich.repo import MemoryRepo

DEFAULT_BRANCH = b"refs/heads/master"
_FILE_MODE = 0o100644
_EXEC_MODE = 0o100755
_TREE_MODE = 0o040000
_AUTHOR = b"Algorithmia <support@algorithmia.com>"


class Repository:
    def __init__(self, objects: dict[bytes, ShaFile] | None = None, refs: dict[bytes, bytes] | None = None):
        self.objects = dict(objects or {})
        self.refs = dict(refs or {})

    # -- state -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"refs": {k.decode(): v.decode() for k, v in self.refs.items()},
                "objects": {sha.decode(): [obj.type_num, base64.b64encode(obj.as_raw_string()).decode()]
                            for sha, obj in self.objects.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Repository":
        objects = {}
        for sha, value in (data.get("objects") or {}).items():
            try:
                type_num, raw = value
                obj = ShaFile.from_raw_string(int(type_num), base64.b64decode(raw, validate=True))
            except Exception as exc:      # dulwich's parse errors have no common base class
                raise ValueError(f"git object {sha} cannot be read: {type(exc).__name__}: {exc}") from None
            if obj.id.decode() != sha:
                raise ValueError(f"git object {sha} does not match its content")
            objects[obj.id] = obj
        refs = {}
        for name, sha in (data.get("refs") or {}).items():
            if not isinstance(sha, str) or sha.encode() not in objects:
                raise ValueError(f"ref {name} points to a missing object {sha!r}")
            refs[name.encode()] = sha.encode()
        return cls(objects, refs)

    # -- dulwich ---------------------------------------------------------------
    def to_memory_repo(self) -> MemoryRepo:
        """A dulwich repository holding copies of the refs (for one git request)."""
        repo = MemoryRepo()
        repo.object_store.add_objects([(obj, None) for obj in self.objects.values()])
        repo.refs.set_symbolic_ref(b"HEAD", DEFAULT_BRANCH)
        for name, sha in self.refs.items():
            repo.refs[name] = sha
        return repo

    @classmethod
    def from_memory_repo(cls, repo: MemoryRepo) -> "Repository":
        objects = {sha: repo.object_store[sha] for sha in repo.object_store}
        refs = {name: sha for name, sha in repo.get_refs().items() if name != b"HEAD"}
        return cls(objects, refs)

    # -- reading ---------------------------------------------------------------
    def head(self) -> str | None:
        """The commit the default branch points at (what builds build)."""
        sha = self.refs.get(DEFAULT_BRANCH)
        return sha.decode() if sha else None

    def tree_of(self, commit_sha: str) -> str:
        return self.objects[commit_sha.encode()].tree.decode()

    def has_commit(self, sha: str) -> bool:
        obj = self.objects.get(sha.encode())
        return isinstance(obj, Commit)

    def files(self, commit_sha: str) -> Iterator[tuple[str, int, bytes]]:
        """``(path, mode, content)`` of every regular file of a commit's tree. Entries a
        checkout must not write (symlinks, submodules, names like ``..``) are skipped."""
        commit = self.objects[commit_sha.encode()]
        yield from self._walk(self.objects[commit.tree], "")

    def _walk(self, tree: Tree, prefix: str) -> Iterator[tuple[str, int, bytes]]:
        for entry in tree.items():
            name = entry.path.decode("utf-8", "replace")
            if name in ("", ".", "..", ".git") or "/" in name or "\\" in name or "\x00" in name:
                continue
            obj = self.objects.get(entry.sha)
            if entry.mode == _TREE_MODE and isinstance(obj, Tree):
                yield from self._walk(obj, f"{prefix}{name}/")
            elif entry.mode in (_FILE_MODE, _EXEC_MODE, 0o100664) and isinstance(obj, Blob):
                yield f"{prefix}{name}", entry.mode, obj.as_raw_string()

    def checkout(self, commit_sha: str, root: str) -> str:
        """The commit's files under ``root/<commit>`` (content-addressed: written once,
        atomically, then reused). Returns that folder."""
        dest = os.path.join(root, commit_sha)
        if os.path.isdir(dest):
            return dest
        os.makedirs(root, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=f".{commit_sha[:12]}-", dir=root)
        try:
            for path, mode, content in self.files(commit_sha):
                target = os.path.join(scratch, *path.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    fh.write(content)
                os.chmod(target, 0o755 if mode == _EXEC_MODE else 0o644)
            os.rename(scratch, dest)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            if not os.path.isdir(dest):      # another thread may have won the rename
                raise
        return dest


# -- creating ------------------------------------------------------------------------
def _tree(objects: dict[bytes, ShaFile], files: dict[str, bytes]) -> Tree:
    tree = Tree()
    folders: dict[str, dict[str, bytes]] = {}
    for path, content in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            folders.setdefault(head, {})[rest] = content
        else:
            blob = Blob.from_string(content)
            objects[blob.id] = blob
            tree.add(head.encode(), _FILE_MODE, blob.id)
    for name, inner in folders.items():
        sub = _tree(objects, inner)
        tree.add(name.encode(), _TREE_MODE, sub.id)
    objects[tree.id] = tree
    return tree


def _commit(tree: bytes, parents: list[bytes], message: str, timestamp: int) -> Commit:
    commit = Commit()
    commit.tree, commit.parents = tree, parents
    commit.author = commit.committer = _AUTHOR
    commit.author_time = commit.commit_time = int(timestamp)
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message.encode() + b"\n"
    return commit


def initial(files: dict[str, bytes], message: str, timestamp: int) -> Repository:
    """A repository whose default branch has one commit holding ``files``."""
    objects: dict[bytes, ShaFile] = {}
    tree = _tree(objects, files)
    commit = _commit(tree.id, [], message, timestamp)
    objects[commit.id] = commit
    return Repository(objects, {DEFAULT_BRANCH: commit.id})


def recommitted(repo: Repository, message: str, timestamp: int) -> Repository:
    """``repo`` with one more commit on the default branch, with the head's files."""
    head = repo.refs[DEFAULT_BRANCH]
    commit = _commit(repo.objects[head].tree, [head], message, timestamp)
    return Repository({**repo.objects, commit.id: commit}, {**repo.refs, DEFAULT_BRANCH: commit.id})


def is_python(language: str | None) -> bool:
    return (language or "python3-1").startswith("python")


def entrypoint(name: str, language: str | None) -> str | None:
    """The file the platform loads (Python: ``src/<Name>.py``); None for languages the mock cannot run."""
    return f"src/{name}.py" if is_python(language) else None


PYTHON_TEMPLATE = '''import Algorithmia

# API calls will begin at the apply() method, with the request body passed as 'input'
# For more details, see algorithmia.com/developers/algorithm-development/languages
def apply(input):
    return "hello {}".format(input)
'''

PYTHON_TEST = '''from . import {name}


def test_{name}():
    assert {name}.apply("Jane") == "hello Jane"
'''

# Other languages: the files the platform's templates start with (the mock cannot run them).
_OTHER_TEMPLATES = {
    "java": {"pom.xml": "<project><artifactId>{lower}</artifactId></project>\n",
             "src/main/java/algorithmia/{name}/{name}.java":
                 "package algorithmia.{name};\n\npublic class {name} {{\n"
                 "    public String apply(String input) {{ return \"hello \" + input; }}\n}}\n"},
    "scala": {"build.sbt": "name := \"{lower}\"\n",
              "src/main/scala/algorithmia/{name}/{name}.scala":
                  "package algorithmia.{name}\n\nclass {name} {{\n  def apply(input: String): String = s\"hello $input\"\n}}\n"},
    "javascript": {"package.json": "{{\"name\": \"{lower}\", \"main\": \"src/{name}.js\"}}\n",
                   "src/{name}.js": "exports.apply = function(input, cb) {{\n    cb(null, \"hello \" + input);\n}};\n"},
    "r": {"packages.txt": "", "src/{name}.r": "algorithm <- function(input) {{\n  paste(\"hello\", input)\n}}\n"},
    "ruby": {"Gemfile": "source 'https://rubygems.org'\n",
             "src/{name}.rb": "def apply(input)\n  \"hello #{{input}}\"\nend\n"},
    "rust": {"Cargo.toml": "[package]\nname = \"{lower}\"\nversion = \"0.1.0\"\n",
             "src/lib.rs": "pub fn apply(input: String) -> String {{\n    format!(\"hello {{}}\", input)\n}}\n"},
}


def template_files(name: str, language: str | None) -> dict[str, bytes]:
    """What a new algorithm's repository starts with (runtime/template.py answers the same)."""
    if is_python(language):
        files = {f"src/{name}.py": PYTHON_TEMPLATE, "src/__init__.py": "",
                 f"src/{name}_test.py": PYTHON_TEST.format(name=name),
                 "requirements.txt": "algorithmia>=1.0.0,<3.0\n"}
    else:
        files = {path.format(name=name, lower=name.lower()): text.format(name=name, lower=name.lower())
                 for path, text in _OTHER_TEMPLATES.get(language or "", {}).items()}
    files["README.md"] = f"# {name}\n\nAn algorithm on the Algorithmia mock ({language or 'python3-1'}).\n"
    return {path: text.encode() for path, text in files.items()}


@functools.lru_cache(maxsize=1024)
def template_tree(name: str, language: str | None) -> str:
    """The tree id of the untouched template (builds and calls of it need not run a child process)."""
    return _tree({}, template_files(name, language)).id.decode()


def folder_files(folder: str) -> dict[str, bytes]:
    """The regular files under ``folder`` (hidden entries and caches left out)."""
    out: dict[str, bytes] = {}
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for file_name in sorted(names):
            path = os.path.join(here, file_name)
            if file_name.startswith(".") or not os.path.isfile(path) or os.path.islink(path):
                continue
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder).replace(os.sep, "/")] = fh.read()
    return out
