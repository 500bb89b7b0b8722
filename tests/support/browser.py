"""A real headless browser for tests: Debian's chromium driven over the DevTools protocol."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from support.polling import until

CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000", "--remote-debugging-port=0"]


class Page:
    """The smallest CDP client that does the job: one page target, commands by id."""

    def __init__(self, ws_url):
        websocket = pytest.importorskip("websocket", reason="websocket-client drives chromium (test extra)")
        self.ws = websocket.create_connection(ws_url, timeout=20, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"JS error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=10.0):
        value = until(lambda: self.eval(expression), timeout, interval=0.1)
        if not value:
            raise AssertionError(f"timed out waiting for {expression}")
        return value

    def goto(self, url, ready="!!document.body"):
        self.send("Page.navigate", url=url)
        self.wait_for(f"document.readyState === 'complete' && ({ready})")


@contextlib.contextmanager
def start_page():
    """A headless chromium with one page; skips the test when chromium cannot start here."""
    if CHROMIUM is None:
        pytest.skip("no chromium installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="mock-chromium-")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        started = until(lambda: proc.poll() is not None or (port_file.exists() and port_file.read_text().strip()),
                        timeout=30, interval=0.1)
        if not started or proc.poll() is not None:
            pytest.skip(f"chromium at {CHROMIUM} did not start (exit {proc.poll()})")
        port = int(port_file.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        page.send("Page.enable")
        page.send("Runtime.enable")
        yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
