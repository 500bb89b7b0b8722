"""The wire form of what the domain returns: field selection and links.

The domain answers with its objects (copies taken under the store's lock, or for create and
GET algorithm the stored objects, rendered before the lock is released: ``present``); handlers
render them here, with links built on the request's base URL (``web.current.base_url()``).
Field order is the wire order.
"""
from __future__ import annotations

from typing import Any

from mockserver.domain.algorithm_models import Algorithm, AlgorithmView, Build, ErrorEntry, ScmConnection, Secret
from mockserver.domain.algorithms import VERSION_INFO_FIELDS
from mockserver.domain.data import Listing
from mockserver.domain.environments import Environment, Language, SecretProvider
from mockserver.domain.models import PERMISSION_NAMES, ApiKey, Membership, Organization, Scm, User, full_permissions
from mockserver.domain.orgs import DEFAULT_TYPE, OrgType


def user(u: User, base_url: str) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "email": u.email,
            "fullname": u.fullname, "company_name": u.company_name,
            "company_role": u.company_role, "resource_type": "user",
            "self_link": f"{base_url}/v1/users/{u.username}"}


def org(o: Organization, base_url: str) -> dict[str, Any]:
    """The seed's fields, and the platform's ``id``, ``org_created_at`` and ``external_id``
    (the Ruby client's spec reads ``external_id`` back from create)."""
    return {"id": o.id, "org_name": o.org_name, "org_label": o.org_label,
            "org_contact_name": o.org_contact_name, "org_email": o.org_email,
            "org_url": o.org_url, "type_id": o.type_id or DEFAULT_TYPE, "org_created_at": o.created_at,
            "external_id": o.external_id,
            "resource_type": "organization", "self_link": f"{base_url}/v1/organizations/{o.org_name}",
            "owner_ids": o.owners()}


def member(m: Membership, base_url: str) -> dict[str, Any]:
    return {"username": m.username, "role": m.role,
            "user_link": f"{base_url}/v1/users/{m.username}", "resource_type": "organization_member"}


def mask(secret: str) -> str:
    return secret[:3] + "*" * max(len(secret) - 7, 4) + secret[-4:]


def key(k: ApiKey, *, reveal: bool) -> dict[str, Any]:
    """An API key; its secret in full only in the answer that created it."""
    perms = {**full_permissions(), **k.permissions}
    return {"username": k.owner or "", "owner_name": k.owner or "",
            "key_label": k.key_label, "created_at": k.created_at,
            "api_key_mask": mask(k.api_key),
            "api_key": k.api_key if reveal else mask(k.api_key),
            "key_type": k.key_type,
            "permissions": {**{n: bool(perms.get(n)) for n in PERMISSION_NAMES},
                            "algo_acl": list(perms.get("algo_acl") or [])}}


# -- SCMs ---------------------------------------------------------------------------
_SCM_NAMES = {"internal": "Internal", "github": "GitHub", "gitlab": "GitLab",
              "bitbucket": "Bitbucket", "bitbucket-server": "Bitbucket Server"}


def scm(s: Scm) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "name": _SCM_NAMES.get(s.provider, s.provider),
                           "provider": s.provider, "default": s.default, "enabled": s.enabled}
    if s.oauth_client_id:
        out["oauth"] = {"client_id": s.oauth_client_id}
        out["scm"] = {"client_id": s.oauth_client_id}
    if s.urls:
        out["urls"] = dict(s.urls)
    return out


def scm_oauth_status(s: Scm) -> dict[str, Any]:
    return {"authorization_status": s.oauth_status, "scm_username": None, "scm_organizations": []}


# -- algorithms, builds, versions ------------------------------------------------------
SETTINGS_ORDER = ("algorithm_callability", "source_visibility", "language", "environment", "package_set",
                  "algorithm_environment", "license", "royalty_microcredits", "network_access",
                  "pipeline_enabled", "insights_enabled")


def algo_url(base_url: str, a: Algorithm) -> str:
    return f"{base_url}/v1/algorithms/{a.owner}/{a.name}"


def build(b: Build) -> dict[str, Any]:
    out: dict[str, Any] = {"build_id": b.build_id, "commit_sha": b.commit_sha,
                           "finished_at": b.finished_at, "resource_type": "algorithm_build",
                           "started_at": b.started_at, "status": b.status}
    if b.semantic_version:
        out["version_info"] = {"semantic_version": b.semantic_version}
    return out


def _ordered_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that are not None, SETTINGS_ORDER's first, then any other in their order:
    ``settings`` themselves when they are so already (as the domain keeps them)."""
    keys = tuple(settings)
    in_order = _IN_ORDER.get(keys)
    if in_order is None:
        in_order = _learn_order(keys)
    if in_order and None not in settings.values():
        return settings
    out = {}
    get = settings.get
    for k in SETTINGS_ORDER:
        v = get(k)
        if v is not None:
            out[k] = v
    if len(out) != len(settings):         # others, or None values: rare
        for k, v in settings.items():
            if v is not None and k not in out:
                out[k] = v
    return out


_ORDER_INDEX = {k: i for i, k in enumerate(SETTINGS_ORDER)}
# Key sequences seen -> whether they are known settings in SETTINGS_ORDER's order (a few
# distinct ones in practice; bounded against imported states with ever new keys).
_IN_ORDER: dict[tuple, bool] = {}


def _learn_order(keys: tuple) -> bool:
    positions = [_ORDER_INDEX.get(k, -1) for k in keys]
    in_order = -1 not in positions and positions == sorted(positions)
    if len(_IN_ORDER) >= 1024:
        _IN_ORDER.clear()
    _IN_ORDER[keys] = in_order
    return in_order


def _compilation(b: Build) -> dict[str, Any]:
    if b.status == "in-progress":
        return {"successful": False, "output": "Building algorithm... (the build is in progress)"}
    return {"successful": b.status == "succeeded", "output": b.logs or "Building algorithm..."}


def algorithm(view: AlgorithmView, base_url: str) -> dict[str, Any]:
    """The algorithm object, or (``view.as_version``) the version object of its build
    (settings and details as published, unpublished builds are private)."""
    a, b, version = view.algo, view.build, view.version
    # Stored settings and details are replaced, never changed in place, and the answer is
    # serialised at once: it may hold them as they are.
    if view.as_version:
        settings = version.settings if version else {**(b.settings if b else a.settings),
                                                     "algorithm_callability": "private"}
        details = version.details if version and version.details else a.details
    else:
        settings, details = a.settings, a.details
    out: dict[str, Any] = {"id": a.id, "name": a.name, "details": details,
                           "settings": _ordered_settings(settings), "source": {**a.source, "scm": scm(view.scm)},
                           "resource_type": "algorithm"}
    insights = bool(settings.get("insights_enabled", False))
    if b is not None:
        info: dict[str, Any] = {"git_hash": b.commit_sha}
        if version is not None:
            info["semantic_version"] = version.semantic_version
            for field in VERSION_INFO_FIELDS:
                if getattr(version, field) is not None:
                    info[field] = getattr(version, field)
        elif not view.as_version:
            info.update({k: v for k, v in a.version_info.items() if v is not None})
        info["insights_enabled"] = insights
        out["version_info"] = info
        out["build"] = build(b)
        out["compilation"] = _compilation(b)
        out["self_link"] = f"{algo_url(base_url, a)}/versions/{b.commit_sha}"
    elif a.version_info:
        out["version_info"] = {**{k: v for k, v in a.version_info.items() if v is not None},
                               "insights_enabled": insights}
    return out


def scm_connection(c: ScmConnection, base_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"scm_connection_status": c.status}
    if c.deploy_key is not None:
        out["repository_public_deploy_key"] = c.deploy_key
        out["repository_webhook_secret"] = c.webhook_secret
        out["repository_webhook_url"] = f"{algo_url(base_url, c.algo)}/scm/webhook"
    return out


def error_entry(e: ErrorEntry) -> dict[str, Any]:
    """One failed invocation of an algorithm error list."""
    out = {"id": e.id, "algorithm": e.algorithm, "owner": e.owner, "caller": e.caller,
           "version": e.version, "request_id": e.request_id, "error_type": e.error_type,
           "message": e.message, "created_at": e.created_at}
    if e.algorithm_id:
        out["algorithm_id"] = e.algorithm_id
    return out


def secret(algorithm_id: str, s: Secret) -> dict[str, Any]:
    """An algorithm's secret: never its value. ``secret_key``, ``created`` and ``modified`` as
    algorithmia 2.0.5's recorded answers show them."""
    return {"id": s.id, "short_name": s.short_name, "description": s.description, "secret_key": s.secret_key,
            "owner_type": "algorithm", "owner_id": algorithm_id, "provider_id": s.provider_id,
            "default_secret_value_id": s.value_id, "created": s.created_at,
            "modified": s.modified_at or s.created_at}


# -- languages, environments -----------------------------------------------------------
def language(lang: Language) -> dict[str, Any]:
    return {"name": lang.name, "display_name": lang.display_name, "configuration": lang.configuration}


def environment(e: Environment) -> dict[str, Any]:
    return {"id": e.id, "environment_specification_id": e.environment_specification_id,
            "display_name": e.display_name, "description": e.description, "created_at": e.created_at,
            "language": language(e.language), "machine_type": e.machine_type}


def secret_provider(p: SecretProvider) -> dict[str, Any]:
    """The generated client's ProviderInfo field names (camelCase), as the platform answers."""
    return {"id": p.id, "name": p.name, "description": p.description, "moduleName": p.module_name,
            "factoryClassName": p.factory_class_name, "interfaceVersion": p.interface_version,
            "isEnabled": p.is_enabled, "isDefault": p.is_default, "created": p.created, "modified": p.modified}


def data_listing(listing: Listing) -> dict[str, Any]:
    """A directory page as the data API answers it: ``{folders, files[, marker][, acl]}``.

    ``marker`` only when there is a next page: the live data API left it out on the last page,
    and the R client pages with ``if ("marker" %in% names(data))`` (a null would be read as a
    marker). The collection listings (``Page.envelope``) keep the seeds' ``null``."""
    out: dict[str, Any] = {
        "folders": [{"name": f.name} if f.acl is None else {"name": f.name, "acl": {"read": f.acl}}
                    for f in listing.folders],
        "files": [{"filename": f.name, "last_modified": f.last_modified, "size": f.size} for f in listing.files]}
    if listing.marker is not None:
        out["marker"] = listing.marker
    if listing.acl is not None:
        out["acl"] = {"read": listing.acl}
    return out


def org_type(t: OrgType) -> dict[str, Any]:
    return {"id": t.id, "name": t.name}
