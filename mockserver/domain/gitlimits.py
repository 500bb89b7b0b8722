"""The bounds of git storage (settings ``git_max_*``), and the error a repository breaks them with."""
from __future__ import annotations

from dataclasses import dataclass

from mockserver.settings import MiB, Settings

NAME_MAX = 255          # bytes of one file or folder name (what filesystems allow)
OBJECT_OVERHEAD = 256   # what holding one object costs besides its content, counted in every size


@dataclass(frozen=True)
class GitLimits:
    push_bytes: int         # one push's objects, inflated (deltas counted too)
    blob_bytes: int         # the largest object
    repo_bytes: int         # one repository's objects
    tree_depth: int         # folders nested in a commit's tree
    path_bytes: int         # the longest path of a commit's files

    @classmethod
    def of(cls, settings: Settings) -> "GitLimits":
        return cls(push_bytes=settings.git_max_push_mb * MiB, blob_bytes=settings.git_max_blob_mb * MiB,
                   repo_bytes=settings.git_max_repo_mb * MiB, tree_depth=settings.git_max_tree_depth,
                   path_bytes=settings.git_max_path_bytes)


class RepositoryError(Exception):
    """A repository breaks a limit or misses an object: the message says which, for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
