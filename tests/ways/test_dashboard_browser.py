"""The dashboard at /_mock/ in a real headless browser (Debian's chromium over the DevTools protocol)."""
import base64
import json
import os
from pathlib import Path

import pytest
import requests

from mockserver.settings import Settings
from mockserver.serving.live import LiveServer

from support.browser import CHROMIUM, start_page
from support.api import ADMIN, DEMO

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium): "
                                                         "the dashboard browser test needs a real browser")


@pytest.fixture(scope="module")
def browser():
    with start_page() as page:
        yield page


@pytest.fixture()
def mock():
    with LiveServer(Settings(profile_scale=0.0, seed=11, clock="step")) as server:
        yield server


def api(mock, method, path, key=DEMO, **kw):
    return requests.request(method, mock.url + path, headers={"Authorization": f"Simple {key}"}, **kw)


def test_dashboard_shows_state_journal_and_drives_reset_and_faults(browser, mock):
    api(mock, "POST", "/v1/users", ADMIN, json={"username": "carol", "email": "carol@example.com", "fullname": "C"})
    api(mock, "GET", "/v1/users/carol", ADMIN)
    browser.goto(mock.url + "/_mock/", ready="!!document.querySelector('#journal')")

    text = browser.eval("document.body.innerText")
    for expected in ("Users", "demo", "alice", "carol", DEMO, "Organizations", "acme", "Algorithms",
                     "Data collections", "Faults", "Request journal"):
        assert expected in text, expected
    # journal rows rendered by the inline script, newest first, with bodies
    assert browser.wait_for("document.querySelectorAll('#journal tr.entry').length") == 2
    assert "GET /v1/users/carol" in browser.eval("document.querySelector('#journal tr.entry').innerText")
    assert "carol@example.com" in browser.eval("document.querySelector('#journal tr.entry pre').textContent")
    # no external assets: every src/href is relative or inline
    assert browser.eval("[...document.querySelectorAll('[src],[href],link')].length") == 0

    # live: a new request shows up without reloading
    api(mock, "GET", "/v1/scms")
    browser.wait_for("[...document.querySelectorAll('#journal tr.entry')].some(r => r.innerText.includes('/v1/scms'))",
                     timeout=5)
    # an error answer's row says why (clients such as algorithmia 2.0.5 show only the status)
    api(mock, "POST", "/v1/algo/demo/Hello/0.0.9", json="x")
    row = "[...document.querySelectorAll('#journal tr.entry')].find(r => r.innerText.includes('0.0.9'))"
    browser.wait_for(f"!!{row}", timeout=5)
    assert "1001: No such version of algo://demo/Hello: 0.0.9" in browser.eval(f"{row}.querySelector('td.error').innerText")

    # fault form -> POST /_mock/faults; the page reloads and lists it
    browser.eval("""(() => { const f = document.getElementById('fault-form');
        f.path.value = '/v1/scms'; f.status.value = '503'; f.times.value = '1';
        document.getElementById('add-fault').click(); return true; })()""")
    browser.wait_for("document.querySelector('#faults') && document.querySelector('#faults').innerText.includes('/v1/scms')")
    faults = requests.get(mock.url + "/_mock/faults").json()["faults"]
    assert [(f["path"], f["status"], f["remaining"]) for f in faults] == [("/v1/scms", 503, 1)]
    shot = base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
    assert shot.startswith(b"\x89PNG")
    if os.environ.get("MOCKSERVER_UPDATE_SCREENSHOT"):     # refresh the one in the docs on purpose only
        (ROOT / "docs" / "dashboard.png").write_bytes(shot)
    assert api(mock, "GET", "/v1/scms").status_code == 503

    # remove button -> DELETE /_mock/faults/<id>
    browser.eval("document.querySelector('button[data-fault]').click(), true")
    browser.wait_for("document.readyState === 'complete' && document.body.innerText.includes('no active faults')")
    assert requests.get(mock.url + "/_mock/faults").json()["faults"] == []

    # reset button -> POST /_mock/reset; carol is gone
    browser.eval("document.getElementById('reset').click(), true")
    browser.wait_for("document.readyState === 'complete' && !document.body.innerText.includes('carol@example.com')")
    assert api(mock, "GET", "/v1/users/carol", ADMIN).status_code == 404


def test_dashboard_from_another_origin_can_call_the_api_with_cors(browser, mock):
    """A page on another origin (the frontend dev server) calls the API with an Authorization header."""
    other = LiveServer(Settings(profile_scale=0.0)).start()      # a second origin: other port
    try:
        browser.goto(other.url + "/_mock/", ready="!!document.querySelector('#journal')")
        status = browser.eval(f"""fetch({json.dumps(mock.url + '/v1/users/demo/algorithms')},
            {{headers: {{Authorization: 'Simple {DEMO}'}}}}).then(r => r.status + ' ' + r.headers.get('X-Request-Id'))""")
        code, request_id = status.split(" ")
        assert code == "200" and len(request_id) == 36          # exposed header readable from JS
    finally:
        other.stop()


@pytest.mark.parametrize("width", [1280, 1400, 1920])
def test_dashboard_fits_the_screen_without_clipping(browser, mock, width):
    """No section scrolls sideways (the API-key column was clipped at 1400 px)."""
    browser.send("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    try:
        browser.goto(mock.url + "/_mock/")
        clipped = browser.eval("""[...document.querySelectorAll('section')]
            .filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.querySelector('h2').innerText)""")
        assert clipped == [], f"clipped at {width} px: {clipped}"
        assert browser.eval("document.documentElement.scrollWidth") <= width
        assert DEMO in browser.eval("document.body.innerText")
    finally:
        browser.send("Emulation.clearDeviceMetricsOverride")
