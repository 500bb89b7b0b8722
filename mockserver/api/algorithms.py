"""Algorithms, builds, versions and their error lists (the algorithm lifecycle)."""
from __future__ import annotations

from mockserver.domain import algorithms, builds, secrets, versions
from mockserver.domain.algorithm_settings import settings_notes
from mockserver.api import render
from mockserver.web.handlers import Handlers
from mockserver.api.common import (base_url, caller, ctx, no_content, note, ok, page_args, paged,
                                   request_base_url)
from mockserver.errors import ALGORITHM_NOT_FOUND, BARE, ApiError

ops = Handlers()


def _algo(inp):
    return inp.path["username"], inp.path["algoname"]


# -- algorithms -------------------------------------------------------------------
# Create and GET render the algorithm under the store's lock, from the stored objects
# (``present``): no copies of them for an answer that is serialised at once.
@ops("createAlgorithm")
def create_algorithm(inp):
    url = request_base_url(inp)
    created = algorithms.create(inp.mock.ctx, inp.principal, inp.path["username"], inp.body or {},
                                present=lambda view: render.algorithm(view, url))
    note(*settings_notes(inp.body, creating=True))
    return ok(created)


@ops("getAlgorithm")
def get_algorithm(inp):
    url = request_base_url(inp)
    try:
        found = algorithms.get(inp.mock.ctx, inp.principal, *_algo(inp), present=lambda view: render.algorithm(view, url))
    except ApiError as exc:
        if exc.kind is not ALGORITHM_NOT_FOUND:
            raise
        # The real service's exact body, which an official client's test compares as a string.
        raise ApiError(ALGORITHM_NOT_FOUND, "No such algorithm", shape=BARE) from None
    return ok(found)


@ops("updateAlgorithm")
def update_algorithm(inp):
    updated = algorithms.update(ctx(), caller(), *_algo(inp), inp.body or {})
    note(*settings_notes(inp.body, creating=False))
    return ok(render.algorithm(updated, base_url()))


@ops("deleteAlgorithm")
def delete_algorithm(inp):
    algorithms.delete(ctx(), caller(), *_algo(inp))
    return no_content()


@ops("listUserAlgorithms")
def list_user_algorithms(inp):
    return paged(algorithms.listing(ctx(), caller(), inp.path["username"], **page_args()), render.algorithm)


@ops("getAlgorithmScmStatus")
def scm_status(inp):
    return ok(render.scm_connection(algorithms.scm_status(ctx(), caller(), *_algo(inp)), base_url()))


# -- secrets (values are write-only) ------------------------------------------------
@ops("getAlgorithmSecrets")
def get_secrets(inp):
    algorithm_id = inp.path["algorithm_id"]
    found = [render.secret(algorithm_id, s) for s in secrets.listing(ctx(), caller(), algorithm_id)]
    return ok({"results": found, "secrets": found})     # the generated client's name, and the platform's


@ops("createAlgorithmSecret")
def create_secret(inp):
    algorithm_id = inp.path["algorithm_id"]
    return ok(render.secret(algorithm_id, secrets.create(ctx(), caller(), algorithm_id, inp.body)))


@ops("updateAlgorithmSecret")
def update_secret(inp):
    algorithm_id = inp.path["algorithm_id"]
    return ok(render.secret(algorithm_id, secrets.update(ctx(), caller(), algorithm_id, inp.path["secret_id"], inp.body)))


@ops("deleteAlgorithmSecret")
def delete_secret(inp):
    secrets.delete(ctx(), caller(), inp.path["algorithm_id"], inp.path["secret_id"])
    return no_content()


# -- builds -------------------------------------------------------------------------
@ops("compileAlgorithm")
def compile_algorithm(inp):
    url = base_url()
    return ok(render.algorithm(builds.compile_algorithm(ctx(), caller(), *_algo(inp), base_url=url), url))


@ops("listAlgorithmBuilds")
def list_builds(inp):
    return paged(builds.listing(ctx(), caller(), *_algo(inp), **page_args()), lambda b, _base: render.build(b))


@ops("getAlgorithmBuild")
def get_build(inp):
    return ok(render.build(builds.get(ctx(), caller(), *_algo(inp), inp.path["build_id"])))


@ops("getAlgorithmBuildLogs")
def get_build_logs(inp):
    return ok({"logs": builds.logs(ctx(), caller(), *_algo(inp), inp.path["build_id"])})


# -- versions -------------------------------------------------------------------------
@ops("publishAlgorithm", "publishAlgorithmAlias")
def publish(inp):
    return ok(render.algorithm(versions.publish(ctx(), caller(), *_algo(inp), inp.body or {}), base_url()))


@ops("listAlgorithmVersions")
def list_versions(inp):
    q = inp.query
    return paged(versions.listing(ctx(), caller(), *_algo(inp), callable=q.get("callable"),
                                  published=q.get("published"), **page_args()), render.algorithm)


@ops("getAlgorithmVersion")
def get_version(inp):
    return ok(render.algorithm(versions.get(ctx(), caller(), *_algo(inp), inp.path["version"]), base_url()))


# -- errors (bare arrays, newest first) -------------------------------------------------
@ops("listAlgorithmErrors")
def algorithm_errors(inp):
    return ok([render.error_entry(e) for e in algorithms.errors_of_algorithm(ctx(), caller(), *_algo(inp), inp.query.get("limit"))])


@ops("listAlgorithmErrorsById")
def algorithm_errors_by_id(inp):
    return ok([render.error_entry(e) for e in algorithms.errors_of_algorithm_id(ctx(), caller(), inp.path["algorithm_id"], inp.query.get("limit"))])


@ops("listUserErrors")
def user_errors(inp):
    return ok([render.error_entry(e) for e in algorithms.errors_of_user(ctx(), caller(), inp.path["username"], inp.query.get("limit"))])


@ops("listOrganizationErrors")
def org_errors(inp):
    return ok([render.error_entry(e) for e in algorithms.errors_of_org(ctx(), caller(), inp.path["org_name"], inp.query.get("limit"))])
