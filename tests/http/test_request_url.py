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
