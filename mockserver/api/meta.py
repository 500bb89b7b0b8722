"""The spec itself, organization types, and other small reference lists."""
from __future__ import annotations

import yaml
from flask import Response, request

from mockserver.domain import environments, orgs, templates
from mockserver.api import render
from mockserver.web.handlers import Handlers
from mockserver.api.common import ctx, ok, server

ops = Handlers()


@ops("getOpenApiSpec")
def openapi_spec(inp):
    document = server().spec.document
    if "yaml" in (request.headers.get("Accept") or ""):
        return Response(yaml.safe_dump(document, sort_keys=False), content_type="application/yaml")
    return ok(document)


@ops("listOrganizationTypes")
def organization_types(inp):
    return ok([render.org_type(t) for t in orgs.ORG_TYPES])


@ops("listEdgeLanguages")
def edge_languages(inp):
    return ok([render.language(lang) for lang in environments.languages()])


@ops("listLanguageEnvironments")
def language_environments(inp):
    found = environments.environments(ctx(), inp.path["language"])
    return ok({"environments": [render.environment(e) for e in found]})


@ops("getEnvironmentTemplate")
def environment_template(inp):
    language = environments.environment_language(ctx(), inp.path["environment_id"])
    return Response(templates.template_archive(language), content_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{templates.ARCHIVE_NAME}"'})


@ops("getSecretProviders", "adminListSecretProviders")
def secret_providers(inp):
    return ok([render.secret_provider(p) for p in environments.SECRET_PROVIDERS])
