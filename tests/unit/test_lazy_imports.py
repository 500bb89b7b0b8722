"""A server that is sent only valid REST requests never imports dulwich or jsonschema (issue 31:
~4.6 MB of the server's memory at start). The git server is imported by the first git request
(edge/git_route.py), git objects by the first repository operation (domain/repository.py),
jsonschema by the first refusal (edge/schema_check.py, fixture_check.py).

Each check runs in a fresh interpreter: this test session has imported both long ago."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from support.algorithms import SETTINGS
from support.api import DEMO

_SCRIPT = textwrap.dedent('''
    import base64, json, sys
    from mockserver.app import create_app
    from mockserver.settings import Settings

    def loaded():
        return {name: name in sys.modules for name in ("dulwich", "jsonschema")}

    client = create_app(Settings(profile_scale=0.0)).test_client()
    auth = {"Authorization": "Simple %(key)s"}
    seen = {"start": loaded()}
    answers = {
        "get": client.get("/v1/algorithms/demo/Hello", headers=auth).status_code,
        "create": client.post("/v1/algorithms/demo", headers=auth, json=%(body)s).status_code,
        "call": client.post("/v1/algo/demo/Hello", headers={**auth, "Content-Type": "text/plain"},
                            data="Mia").get_json(),
    }
    seen["valid requests"] = loaded()
    bad = client.post("/v1/algorithms/demo", headers=auth, json=%(bad)s)
    answers["invalid create"] = [bad.status_code, bad.get_json()]
    seen["invalid create"] = loaded()
    basic = "Basic " + base64.b64encode(b"demo:%(key)s").decode()
    refs = client.get("/git/demo/Lazy.git/info/refs?service=git-upload-pack", headers={"Authorization": basic})
    answers["git"] = [refs.status_code, refs.headers.get("Content-Type")]
    seen["git"] = loaded()
    print(json.dumps({"seen": seen, "answers": answers}))
''') % {"key": DEMO, "body": repr({"name": "Lazy", "details": {"label": "Lazy"}, "settings": SETTINGS}),
                  "bad": repr({"name": 42, "details": {"label": "Lazy"}, "settings": SETTINGS})}


def _run() -> dict:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_valid_requests_import_neither_dulwich_nor_jsonschema_and_the_rest_still_works():
    out = _run()
    seen, answers = out["seen"], out["answers"]
    assert seen["start"] == {"dulwich": False, "jsonschema": False}
    assert answers["get"] == 200 and answers["create"] == 200
    assert answers["call"]["result"] == "Hello Mia"
    assert seen["valid requests"] == {"dulwich": False, "jsonschema": False}
    # A refusal imports the authority, and reads as it always did.
    status, body = answers["invalid create"]
    assert status == 400
    assert body["error"]["message"] == "The request is invalid: body.name: 42 is not of type 'string'"
    assert seen["invalid create"] == {"dulwich": False, "jsonschema": True}
    # The first git request imports the git server, and is served.
    assert answers["git"] == [200, "application/x-git-upload-pack-advertisement"]
    assert seen["git"]["dulwich"] is True
