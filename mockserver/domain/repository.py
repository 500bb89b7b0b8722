"""An algorithm's git repository as state: its objects and refs, with dulwich
(pure Python git) for the object formats.

A ``Repository`` is a value: a push produces a new one that replaces the old under the
store lock, so readers never see a half applied push. Git objects are immutable, so copies
share them. Blobs over 64 KiB are :class:`~mockserver.domain.blobstore.StoredBlob` handles
(their content is a file), the rest are dulwich objects in memory. It exports as
``{"refs": {name: sha}, "objects": {sha: [type_num, base64]}}`` (the state API); a blob over
1 MiB exports as ``[3, null, size]`` unless the export asks for large blobs.

dulwich's object classes are imported by the first function that makes, reads or tells apart
git objects (``_git()``), not with this module: the store imports it at start-up, and a server
whose algorithms are never built from a repository never needs them (~1 MB, issue 31).
"""
from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import tempfile
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterator, Union

from mockserver.domain.blobstore import EXPORT_INLINE_MAX, INLINE_MAX, BlobStore, StoredBlob
from mockserver.domain.gitlimits import NAME_MAX, OBJECT_OVERHEAD, GitLimits, RepositoryError

if TYPE_CHECKING:
    from dulwich.objects import Commit, ShaFile, Tree

DEFAULT_BRANCH = b"refs/heads/master"
CONF_FILE = "algorithmia.conf"        # what the platform put in every new repository
_FILE_MODE = 0o100644
_EXEC_MODE = 0o100755
_TREE_MODE = 0o040000
_FILE_MODES = (_FILE_MODE, _EXEC_MODE, 0o100664)
_SKIPPED_NAMES = {b"", b".", b"..", b".git"}
_AUTHOR = b"Algorithmia <support@algorithmia.com>"


class OmittedBlob:
    """A blob an export left out (``[3, null, size]``), until an import finds it (``with_blobs_on_disk``)."""
    __slots__ = ("id", "size")
    type_num = 3

    def __init__(self, sha: bytes, size: int):
        self.id, self.size = sha, size

    def raw_length(self) -> int:
        return self.size


GitObject = Union["ShaFile", StoredBlob, OmittedBlob]


@functools.cache
def _git() -> ModuleType:
    """``dulwich.objects``, imported on first use (see above; the import lock makes it once)."""
    import dulwich.objects
    return dulwich.objects


def content_chunks(obj: GitObject) -> Iterator[bytes]:
    """A blob's content, in pieces (a stored one is read from its file)."""
    if isinstance(obj, StoredBlob):
        yield from obj.chunks()
    elif isinstance(obj, OmittedBlob):
        raise RepositoryError(f"the content of blob {obj.id.decode()} was left out of the imported state")
    else:
        yield obj.as_raw_string()


class Repository:
    def __init__(self, objects: dict[bytes, GitObject] | None = None, refs: dict[bytes, bytes] | None = None):
        self.objects = dict(objects or {})
        self.refs = dict(refs or {})

    @functools.cached_property
    def size(self) -> int:
        """What the repository counts against ``--git-max-repo-mb``: its objects' sizes, each
        plus a fixed overhead."""
        return sum(obj.raw_length() + OBJECT_OVERHEAD for obj in self.objects.values())

    @functools.cached_property
    def inline_blob_bytes(self) -> int:
        """Bytes of blobs held in memory (a push puts blobs on disk once these pass REPO_INLINE_MAX)."""
        Blob = _git().Blob
        return sum(obj.raw_length() for obj in self.objects.values() if isinstance(obj, Blob))

    # -- state -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        objects: dict[str, Any] = {}
        for sha, obj in self.objects.items():
            if isinstance(obj, OmittedBlob) or (isinstance(obj, StoredBlob) and obj.size > EXPORT_INLINE_MAX):
                objects[sha.decode()] = [obj.type_num, None, obj.size]
            else:
                raw = obj.read() if isinstance(obj, StoredBlob) else obj.as_raw_string()
                objects[sha.decode()] = [obj.type_num, base64.b64encode(raw).decode()]
        return {"refs": {k.decode(): v.decode() for k, v in self.refs.items()}, "objects": objects}

    def large_blobs(self) -> list[StoredBlob]:
        """The blobs ``to_json`` leaves out (an export that asks for them adds them itself)."""
        return [obj for obj in self.objects.values() if isinstance(obj, StoredBlob) and obj.size > EXPORT_INLINE_MAX]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Repository":
        objects: dict[bytes, GitObject] = {}
        ShaFile = _git().ShaFile
        for sha, value in (data.get("objects") or {}).items():
            try:
                if isinstance(value, list) and len(value) == 3 and value[1] is None:
                    type_num, _, size = value
                    if int(type_num) != 3 or not isinstance(size, int) or size < 0 or len(sha) != 40:
                        raise ValueError("a left-out object must be [3, null, size]")
                    int(sha, 16)
                    objects[sha.encode()] = OmittedBlob(sha.encode(), size)
                    continue
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

    def with_blobs_on_disk(self, store: BlobStore) -> "Repository":
        """This repository with its large in-memory blobs moved to ``store`` and the blobs an
        export left out found there (ValueError when the store no longer has one)."""
        moved: dict[bytes, GitObject] = {}
        Blob = _git().Blob
        for sha, obj in self.objects.items():
            if isinstance(obj, OmittedBlob):
                held = store.get(sha)
                if held is None or held.size != obj.size:
                    raise ValueError(f"git blob {sha.decode()} ({obj.size} bytes) was left out of this export and "
                                     "this server no longer has it: export with GET /_mock/state?large_blobs=include")
                moved[sha] = held
            elif isinstance(obj, Blob) and obj.raw_length() > INLINE_MAX:
                moved[sha] = store.put_bytes(obj.as_raw_string())
        if not moved:
            return self
        return Repository({**self.objects, **moved}, self.refs)

    # -- reading ---------------------------------------------------------------
    def head(self) -> str | None:
        """The commit the default branch points at (what builds build)."""
        sha = self.refs.get(DEFAULT_BRANCH)
        return sha.decode() if sha else None

    def commit(self, commit_sha: str) -> Commit:
        obj = self.objects.get(commit_sha.encode())
        if not isinstance(obj, _git().Commit):
            raise RepositoryError(f"commit {commit_sha} is not in the repository")
        return obj

    def tree_of(self, commit_sha: str) -> str:
        return self.commit(commit_sha).tree.decode()

    def has_commit(self, sha: str) -> bool:
        obj = self.objects.get(sha.encode())
        return isinstance(obj, _git().Commit)

    def walk(self, commit_sha: str, limits: GitLimits | None = None) -> Iterator[tuple[str, int, GitObject]]:
        """``(path, mode, blob)`` of every regular file of a commit's tree, without recursion.
        Entries a checkout must not write (symlinks, submodules, names like ``..``) are
        skipped; a tree deeper, or a path longer, than ``limits`` raises RepositoryError."""
        Blob, Tree = _git().Blob, _git().Tree
        root = self.objects.get(self.commit(commit_sha).tree)
        if not isinstance(root, Tree):
            raise RepositoryError(f"the tree of commit {commit_sha} is not in the repository")
        stack: list[tuple[Tree, bytes, int]] = [(root, b"", 0)]
        while stack:
            tree, prefix, depth = stack.pop()
            for entry in tree.items():
                name = entry.path
                if name in _SKIPPED_NAMES or b"/" in name or b"\\" in name or b"\x00" in name:
                    continue
                path = prefix + name
                if len(name) > NAME_MAX:
                    raise RepositoryError(f"the name {_shown(name)} is {len(name)} bytes long: a file or folder "
                                          f"name can have at most {NAME_MAX}")
                if limits is not None and len(path) > limits.path_bytes:
                    raise RepositoryError(f"the path {_shown(path)} is {len(path)} bytes long, over the limit of "
                                          f"{limits.path_bytes} (--git-max-path-bytes)")
                obj = self.objects.get(entry.sha)
                if entry.mode == _TREE_MODE:
                    if limits is not None and depth + 1 > limits.tree_depth:
                        raise RepositoryError(f"the folder {_shown(path)} is nested {depth + 1} levels deep, over the "
                                              f"limit of {limits.tree_depth} (--git-max-tree-depth)")
                    if not isinstance(obj, Tree):
                        raise RepositoryError(f"the tree of {_shown(path)} is not in the repository")
                    stack.append((obj, path + b"/", depth + 1))
                elif entry.mode in _FILE_MODES:
                    if not isinstance(obj, (Blob, StoredBlob, OmittedBlob)):
                        raise RepositoryError(f"the content of {_shown(path)} is not in the repository")
                    yield path.decode("utf-8", "replace"), entry.mode, obj

    def files(self, commit_sha: str, limits: GitLimits | None = None) -> Iterator[tuple[str, int, bytes]]:
        """``(path, mode, content)`` of every file ``walk`` yields, content read into memory."""
        for path, mode, obj in self.walk(commit_sha, limits):
            yield path, mode, b"".join(content_chunks(obj))

    def checkout_size(self, commit_sha: str, limits: GitLimits | None = None) -> int:
        return sum(obj.raw_length() for _, _, obj in self.walk(commit_sha, limits))

    def checkout(self, commit_sha: str, dest: str, limits: GitLimits | None = None) -> str:
        """The commit's files in the folder ``dest``: written under a scratch name beside it,
        then renamed, so it is complete or absent; a failure leaves nothing behind. An
        existing ``dest`` is taken as it is (checkouts are content-addressed)."""
        if os.path.isdir(dest):
            return dest
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=f".{commit_sha[:12]}-", dir=parent)
        try:
            for path, mode, obj in self.walk(commit_sha, limits):
                target = os.path.join(scratch, *path.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    for chunk in content_chunks(obj):
                        fh.write(chunk)
                os.chmod(target, 0o755 if mode == _EXEC_MODE else 0o644)
            os.rename(scratch, dest)
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            if os.path.isdir(dest):          # another thread won the rename
                return dest
            _remove_if_empty(parent)
            raise RepositoryError(f"commit {commit_sha} cannot be checked out: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            _remove_if_empty(parent)
            raise
        return dest

    def is_template(self, commit_sha: str, name: str, language: str | None) -> bool:
        """True when the commit's files are the untouched template (``algorithmia.conf`` aside)."""
        Tree = _git().Tree
        root = self.objects.get(self.commit(commit_sha).tree)
        if not isinstance(root, Tree):
            return False
        if CONF_FILE.encode() in root:
            bare = Tree()
            for entry in root.items():
                if entry.path != CONF_FILE.encode():
                    bare.add(entry.path, entry.mode, entry.sha)
            root = bare
        return root.id.decode() == template_tree(name, language)


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass            # not empty (other checkouts), or gone already


def _shown(path: bytes) -> str:
    text = path.decode("utf-8", "replace")
    return repr(text if len(text) <= 80 else text[:40] + "..." + text[-37:])


# -- creating ------------------------------------------------------------------------
def _tree(objects: dict[bytes, ShaFile], files: dict[str, bytes]) -> Tree:
    git = _git()
    tree = git.Tree()
    folders: dict[str, dict[str, bytes]] = {}
    for path, content in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            folders.setdefault(head, {})[rest] = content
        else:
            blob = git.Blob.from_string(content)
            objects[blob.id] = blob
            tree.add(head.encode(), _FILE_MODE, blob.id)
    for name, inner in folders.items():
        sub = _tree(objects, inner)
        tree.add(name.encode(), _TREE_MODE, sub.id)
    objects[tree.id] = tree
    return tree


def _commit(tree: bytes, parents: list[bytes], message: str, timestamp: int) -> Commit:
    commit = _git().Commit()
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


def platform_conf(owner: str, name: str, language: str | None, submitted_ms: int) -> bytes:
    """The ``algorithmia.conf`` the platform wrote into a new repository: JSON naming the
    algorithm (what the algorithmia-ci GitHub Action reads: ``username``/``algoname``), in the
    platform's own layout (``"key" : value``, two spaces, no final newline)."""
    fields = {"username": owner, "algoname": name, "language": language or "python3-1", "submitted_at": submitted_ms}
    body = ",\n".join(f"  {json.dumps(key)} : {json.dumps(value)}" for key, value in fields.items())
    return ("{\n" + body + "\n}").encode()


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
