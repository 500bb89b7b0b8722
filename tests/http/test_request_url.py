"""The request URL the listings' next_link builds on: a fast path for plain URLs, and
Werkzeug's quoting for everything else; both must agree."""
import pytest
from flask import request

from mockserver.api.common import request_url


@pytest.mark.parametrize("path,query", [
    ("/v1/users", "limit=50"),
    ("/v1/data/.my/bench", ""),
    ("/v1/data/.my/caf\u00e9 bar", "marker=x%2By&limit=2"),
    ("/v1/data/.my/a b", "q=\u00e9"),
    ("/v1/connector/s3/b/k'(1)", "acl=true"),
])
def test_request_url_matches_werkzeug(app, path, query):
    with app.test_request_context(path, query_string=query, base_url="http://mock.test:8080"):
        assert request_url() == request.url


def test_a_configured_public_url_is_the_base_of_every_link_and_of_a_builds_api():
    """With --public-url the links carry it (the git edge's builds take it too: web.current.base_url_of)."""
    from mockserver.app import create_app
    from mockserver.settings import Settings
    from mockserver.web.current import PREFIX_KEY, base_url_of
    from support.api import ADMIN
    app = create_app(Settings(profile_scale=0.0, public_url="https://mock.example/"))
    try:
        r = app.test_client().get("/v1/users/demo", headers={"Authorization": f"Simple {ADMIN}"})
        assert r.status_code == 200, r.data
        assert r.get_json()["self_link"] == "https://mock.example/v1/users/demo"
        assert base_url_of({PREFIX_KEY: "/sandboxes/ab12"}, "https://mock.example/") == \
            "https://mock.example/sandboxes/ab12"
    finally:
        app.extensions["mockserver"].ctx.engine.shutdown()
