"""The one rendering of errors (app.py's handlers): what werkzeug and a bug raise becomes an
Algorithmia error object with the status of its kind, never an HTML page."""
import pytest
from werkzeug.exceptions import BadRequest, RequestedRangeNotSatisfiable

from mockserver.app import create_app
from mockserver.settings import Settings


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(profile_scale=0.0))

    def raises(what):
        raise {"bad": BadRequest("the form did not parse"), "range": RequestedRangeNotSatisfiable(),
               "bug": ZeroDivisionError("oops")}[what]
    app.add_url_rule("/test-raises/<what>", "test_raises", raises)     # a route of this test only
    yield app.test_client()
    app.extensions["mockserver"].close()


@pytest.mark.parametrize("what,status,code,says", [
    ("bad", 400, 6001, "Bad Request: the form did not parse"),
    ("range", 416, 6001, "Requested Range Not Satisfiable"),     # werkzeug's own status is kept
    ("bug", 500, 5001, "There was an internal error (ZeroDivisionError); see the server log"),
])
def test_errors_raised_outside_the_mock_s_rules(client, what, status, code, says):
    r = client.get(f"/test-raises/{what}")
    assert r.status_code == status and r.content_type == "application/json", r.data
    error = r.get_json()["error"]
    assert error["code"] == code and error["message"].startswith(says) and error["id"]
