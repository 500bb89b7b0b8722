"""A page of another origin, in a real browser, against the mock: /v1 works, /_mock is out of reach."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from mockserver.settings import Settings
from mockserver.serving.live import LiveServer

from support.browser import CHROMIUM, start_page
from support.api import ADMIN, DEMO

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium): "
                                                         "this test needs a real browser")

ATTACK = """<!doctype html><html><body><script>
async function attempt(url, init) {
  try { const r = await fetch(url, init); return "status " + r.status + " " + await r.text(); }
  catch (e) { return "blocked: " + e.name; }
}
window.results = (async () => {
  const mock = MOCK;
  return {
    binding: await attempt(mock + "/_mock/algorithms/demo/Hello/binding", {method: "PUT",
              headers: {"Content-Type": "application/json"}, body: JSON.stringify({target: "os:system"})}),
    state: await attempt(mock + "/_mock/state"),
    simpleReset: await attempt(mock + "/_mock/reset", {method: "POST", mode: "no-cors", body: "{}"}),
    simpleWipe: await attempt(mock + "/_mock/state", {method: "PUT", mode: "no-cors", body: "{}"}),
    api: await attempt(mock + "/v1/algorithms/demo/Hello", {headers: {Authorization: "Simple DEMO_KEY"}}),
  };
})();
</script></body></html>"""


class _AttackerSite(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


def test_another_origin_reaches_v1_but_not_the_control_plane():
    with LiveServer(Settings(profile_scale=0.0)) as mock, start_page() as browser:
        requests.post(mock.url + "/v1/users", headers={"Authorization": f"Simple {ADMIN}"},
                      json={"username": "carol", "email": "carol@example.com", "fullname": "C"}).raise_for_status()
        _AttackerSite.page = ATTACK.replace("MOCK", json.dumps(mock.url)).replace("DEMO_KEY", DEMO).encode()
        site = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerSite)
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            browser.goto(f"http://127.0.0.1:{site.server_port}/")     # same host, another port: another origin
            results = browser.eval("window.results")
        finally:
            site.shutdown()
        assert results["binding"].startswith("blocked"), results      # preflight refused
        assert results["state"].startswith("blocked"), results        # 403 and no CORS header: unreadable
        assert results["api"].startswith("status 200") and '"name":"Hello"' in results["api"], results
        # the no-cors POST/PUT went out opaque; the server refused them (Origin), so nothing changed
        assert requests.get(mock.url + "/_mock/algorithms/bindings").json() == {}
        assert requests.get(mock.url + "/v1/users/carol", headers={"Authorization": f"Simple {ADMIN}"}).status_code == 200
