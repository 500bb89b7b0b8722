"""Baseline: a bare Flask app returning fixed bytes, served under the mock's own gunicorn
settings (``python -m mockserver.serving.serve benchmarks.bare_app:app``).

Every method on every path answers the same small JSON object (request bodies are read
and dropped, as a real handler would), so it is the ceiling for "Flask + gunicorn gthread"
on this machine: no auth, no validation, no state, no journal, no logging. A GET of the
data benchmark's files (``*/small.bin``, ``*/big.bin``) answers fixed bytes of the same
size (1 KiB, 5 MiB), so those routes compare like with like.
"""
import os

from flask import Flask, Response, request

app = Flask(__name__)
_BODY = b'{"id":"b7c1a3a2-6a4e-4c77-9d1e-5b2f6c3e1f00","name":"Hello","details":{"label":"Hello"},"resource_type":"algorithm"}'
_FILES = {"small.bin": os.urandom(1024), "big.bin": os.urandom(5 * 1024 * 1024)}


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def fixed(path):
    request.get_data()
    if request.method == "GET":
        data = _FILES.get(path.rpartition("/")[2])
        if data is not None:
            return Response(data, content_type="application/octet-stream")
    return Response(_BODY, content_type="application/json")
