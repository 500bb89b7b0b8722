"""The sandbox dashboard at ``GET /_mock/``: one server-rendered page, no assets, no build.

Only a visitor who may use the control plane sees it (the control guard decides:
anyone on a loopback server without a control key, else a signed-in session); the
others get a sign-in form that carries no state and no key.

It reads the state defensively (``getattr`` with defaults), so it keeps working
while the domain records grow. The journal table refreshes itself by polling
``/_mock/journal?since=N``, and shows each error answer's code and message (clients such as
``algorithmia`` 2.0.5 show only the status); the buttons call ``/_mock/reset`` and ``/_mock/faults``.
"""
from __future__ import annotations

import json
from typing import Any

from flask import render_template_string

TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>algorithmia-mock sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
 header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}
 header h1{font-size:17px;margin:0;flex:1} header code{color:#9fd3ff}
 main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,600px),1fr));gap:14px;padding:14px}
 section{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px #0002;overflow:auto}
 section.wide{grid-column:1/-1} h2{font-size:15px;margin:4px 0 8px}
 table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
 th{font-weight:600;color:#555} .muted{color:#888} .s2{color:#17803d}.s4{color:#b45309}.s5{color:#b91c1c}
 button{background:#2563eb;color:#fff;border:0;border-radius:4px;padding:5px 10px;cursor:pointer}
 button.danger{background:#b91c1c} input,select{padding:4px;border:1px solid #ccc;border-radius:4px}
 td code{white-space:nowrap} td{overflow-wrap:anywhere}
 pre{margin:2px 0;white-space:pre-wrap;word-break:break-all;max-height:160px;overflow:auto;background:#f7f7f9;padding:4px;font-size:12px}
 .pill{display:inline-block;background:#eef;border-radius:9px;padding:0 7px;margin:1px;font-size:12px}
</style></head>
<body>
<header><h1>algorithmia-mock sandbox</h1>
 <span>API <code id="base">{{ base }}/v1</code></span>
 <button id="reset" class="danger" title="POST /_mock/reset">Reset state</button></header>
<main>
<section><h2>Users ({{ users|length }})</h2>
<table><tr><th>user</th><th>email</th><th>API keys</th></tr>
{% for u in users %}<tr><td>{{ u.username }}</td><td>{{ u.email }}</td>
<td>{% for k in u.apikeys %}<div><code>{{ k.key }}</code> <span class="muted">{{ k.type }}</span></div>{% endfor %}</td></tr>{% endfor %}
</table>
{% if admin_keys %}<p class="muted">Admin keys: {% for k in admin_keys %}<code>{{ k }}</code> {% endfor %}</p>{% endif %}
</section>
<section><h2>Organizations ({{ orgs|length }})</h2>
<table><tr><th>org</th><th>label</th><th>members</th></tr>
{% for o in orgs %}<tr><td>{{ o.name }}</td><td>{{ o.label }}</td><td>{% for m, role in o.members %}<span class="pill">{{ m }}{% if role == 'owner' %} ★{% endif %}</span>{% endfor %}</td></tr>{% endfor %}
</table></section>
<section class="wide"><h2>Algorithms ({{ algorithms|length }})</h2>
<table><tr><th>algorithm</th><th>versions</th><th>builds</th></tr>
{% for a in algorithms %}<tr><td>{{ a.name }}{% if a.binding %}<div class="muted">{{ a.binding }}</div>{% endif %}</td>
<td>{% for v in a.versions %}<span class="pill">{{ v }}</span>{% else %}<span class="muted">none</span>{% endfor %}</td>
<td>{% for b in a.builds %}<div><code title="{{ b.id }}">{{ b.id[:8] }}</code> <span class="{{ 's2' if b.status == 'succeeded' else 's5' if b.status == 'failed' else 's4' }}">{{ b.status }}</span></div>{% else %}<span class="muted">none</span>{% endfor %}</td></tr>
{% else %}<tr><td colspan="3" class="muted">no algorithms yet</td></tr>{% endfor %}
</table>{% if bindings %}<p class="muted">Bindings: {% for k, t in bindings %}<span class="pill">{{ k }} → {{ t }}</span>{% endfor %}</p>{% endif %}</section>
<section><h2>Data collections ({{ collections|length }})</h2>
<table><tr><th>collection</th><th>files</th></tr>
{% for c in collections %}<tr><td>{{ c.name }}</td><td>{{ c.files }}</td></tr>
{% else %}<tr><td colspan="2" class="muted">no collections</td></tr>{% endfor %}
</table></section>
{% if sandboxes is not none %}<section class="wide" id="sandboxes"><h2>Sandboxes ({{ sandboxes|length }})</h2>
<table><tr><th>sandbox</th><th>name</th><th>API base URL</th><th>created</th><th>expires in</th></tr>
{% for s in sandboxes %}<tr><td><a href="{{ s.base_url }}/_mock/">{{ s.id }}</a></td><td>{{ s.name or '' }}</td>
<td><code>{{ s.base_url }}</code></td><td>{{ s.created }}</td>
<td>{{ 'never' if s.expires_in_seconds is none else (s.expires_in_seconds|round|int) ~ ' s' }}</td></tr>
{% else %}<tr><td colspan="5" class="muted">no sandboxes (POST /_mock/sandboxes)</td></tr>{% endfor %}
</table></section>{% endif %}
<section class="wide"><h2>Faults</h2>
<form id="fault-form">
 <select name="method">{% for m in ['*','GET','POST','PUT','PATCH','DELETE'] %}<option>{{ m }}</option>{% endfor %}</select>
 <input name="path" value="/v1/algo/*" size="34" aria-label="path pattern">
 <input name="status" value="500" size="4" aria-label="status">
 <input name="times" placeholder="times (blank: always)" size="18" aria-label="times">
 <button type="submit" id="add-fault">Inject fault</button></form>
<table id="faults"><tr><th>id</th><th>method</th><th>path</th><th>effect</th><th>remaining</th><th></th></tr>
{% for f in faults %}<tr><td>{{ f.id }}</td><td>{{ f.method }}</td><td><code>{{ f.path }}</code></td>
<td>{% if f.drop %}drop{% else %}{{ f.status or '' }} {{ f.code or '' }}{% endif %}{% if f.delay_ms %} +{{ f.delay_ms }} ms{% endif %}</td>
<td>{{ 'always' if f.remaining is none else f.remaining }}</td><td><button class="danger" data-fault="{{ f.id }}">remove</button></td></tr>
{% else %}<tr><td colspan="6" class="muted">no active faults</td></tr>{% endfor %}
</table></section>
<section class="wide"><h2>Request journal <span class="muted" id="journal-count"></span></h2>
<table id="journal"><thead><tr><th>#</th><th>time</th><th>request</th><th>status</th><th>error</th><th>ms</th><th>bodies</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script>
"use strict";
const initial = {{ journal_json|safe }};
let last = 0;
const tbody = document.querySelector("#journal tbody");
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text == null ? "" : text; if (cls) td.className = cls; return td; }
function body(label, text) {
  if (!text) return null;
  const d = document.createElement("details"); const s = document.createElement("summary"); s.textContent = label;
  const p = document.createElement("pre"); p.textContent = text; d.append(s, p); return d;
}
// An error answer's code and message: what a client that hides the body never shows.
function explain(error) { return error ? (error.code == null ? "" : error.code + ": ") + error.message : ""; }
function addEntries(entries) {
  for (const e of entries) {
    last = Math.max(last, e.seq);
    const tr = document.createElement("tr"); tr.className = "entry"; tr.dataset.seq = e.seq;
    tr.append(cell(e.seq), cell((e.time || "").slice(11, 23)), cell(e.method + " " + e.path),
              cell(e.status + (e.fault ? " (" + e.fault + ")" : ""), "s" + String(e.status)[0]),
              cell(explain(e.error), "error"), cell(e.duration_ms));
    const td = document.createElement("td");
    for (const b of [body("request", e.request_body), body("response", e.response_body)]) if (b) td.append(b);
    tr.append(td); tbody.prepend(tr);
  }
  while (tbody.children.length > 200) tbody.lastChild.remove();
  document.getElementById("journal-count").textContent = "(" + tbody.children.length + " shown, live)";
}
addEntries(initial.entries);
async function poll() {
  try {
    const r = await fetch("journal?since=" + last, {cache: "no-store"});
    if (r.ok) { const j = await r.json(); if (j.last < last) { tbody.textContent = ""; last = 0; } addEntries(j.entries); }
  } catch (e) { /* server restarting: keep polling */ }
}
setInterval(poll, {{ poll_ms }});
const JSON_HEADERS = {"Content-Type": "application/json"};
document.getElementById("reset").onclick = async () => { await fetch("reset", {method: "POST", headers: JSON_HEADERS}); location.reload(); };
document.getElementById("fault-form").onsubmit = async (ev) => {
  ev.preventDefault(); const f = new FormData(ev.target);
  const fault = {method: f.get("method"), path: f.get("path"), status: parseInt(f.get("status"), 10)};
  if (f.get("times")) fault.times = parseInt(f.get("times"), 10);
  const r = await fetch("faults", {method: "POST", headers: JSON_HEADERS, body: JSON.stringify(fault)});
  if (!r.ok) { alert((await r.json()).error.message); return; }
  location.reload();
};
for (const b of document.querySelectorAll("button[data-fault]"))
  b.onclick = async () => { await fetch("faults/" + b.dataset.fault, {method: "DELETE", headers: JSON_HEADERS}); location.reload(); };
</script>
</body></html>
"""


def _g(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _collections(state: Any) -> list[dict[str, Any]]:
    """Best effort over whatever the data domain keeps (it is still growing)."""
    data = getattr(state, "data", None)
    out: list[dict[str, Any]] = []
    for attr in ("collections", "trees"):
        found = _g(data, attr)
        if isinstance(found, dict):
            for name, value in found.items():
                files = _g(value, "files")
                if files is None and isinstance(value, dict):
                    files = value
                out.append({"name": _g(value, "path") or _g(value, "name") or str(name),
                            "files": len(files) if hasattr(files, "__len__") else ""})
            if out:
                break
    return out


def snapshot(server) -> dict[str, Any]:
    """What the page shows, as plain values (taken under the store lock)."""
    with server.ctx.store.read() as state:
        keys_by_owner: dict[Any, list] = {}
        for key in (getattr(state, "keys", {}) or {}).values():
            if _g(key, "algorithm"):
                continue
            keys_by_owner.setdefault(_g(key, "owner"), []).append(
                {"key": _g(key, "api_key"), "type": _g(key, "key_type", "")})
        users = [{"username": _g(u, "username", name), "email": _g(u, "email", ""),
                  "apikeys": keys_by_owner.get(_g(u, "username", name), [])}
                 for name, u in (getattr(state, "users", {}) or {}).items()]
        orgs = [{"name": _g(o, "org_name", name), "label": _g(o, "org_label", ""),
                 "members": list((_g(o, "members", {}) or {}).items())}
                for name, o in (getattr(state, "orgs", {}) or {}).items()]
        algorithms = []
        for name, a in (getattr(state, "algorithms", {}) or {}).items():
            versions = [_g(v, "semantic_version", "?") for v in (_g(a, "versions", []) or [])]
            builds = [{"id": _g(b, "build_id", bid), "status": _g(b, "status", "?")}
                      for bid, b in list((_g(a, "builds", {}) or {}).items())[-3:]]
            algorithms.append({"name": name, "versions": versions, "builds": builds, "binding": _g(a, "binding")})
        return {"users": users, "orgs": orgs, "algorithms": algorithms,
                "admin_keys": [k["key"] for k in keys_by_owner.get(None, [])],
                "collections": _collections(state),
                "bindings": sorted((getattr(state, "bindings", {}) or {}).items())}


SIGN_IN = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>algorithmia-mock sandbox: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
 header{background:#1d2330;color:#fff;padding:10px 20px} header h1{font-size:17px;margin:0}
 form{background:#fff;border-radius:6px;padding:16px;margin:40px auto;max-width:420px;box-shadow:0 1px 2px #0002}
 input{width:100%;box-sizing:border-box;padding:6px;margin:8px 0;border:1px solid #ccc;border-radius:4px}
 button{background:#2563eb;color:#fff;border:0;border-radius:4px;padding:6px 12px;cursor:pointer}
 #problem{color:#b91c1c}
</style></head>
<body><header><h1>algorithmia-mock sandbox</h1></header>
<form id="sign-in"><p>This server requires its <b>control key</b> (printed at start-up, or set with
<code>--control-key</code> / <code>MOCKSERVER_CONTROL_KEY</code>).</p>
<input type="password" name="control_key" autocomplete="current-password" aria-label="control key" required>
<button type="submit">Sign in</button> <span id="problem"></span></form>
<script>
"use strict";
document.getElementById("sign-in").onsubmit = async (ev) => {
  ev.preventDefault();
  const r = await fetch("session", {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({control_key: new FormData(ev.target).get("control_key")})});
  if (r.ok) { location.reload(); return; }
  document.getElementById("problem").textContent = (await r.json()).error.message;
};
</script></body></html>
"""


def render_sign_in(server) -> str:
    """The page for a visitor without the control key: no state and no secret on it."""
    return SIGN_IN


def render(server, base: str | None = None, sandboxes: list[dict[str, Any]] | None = None) -> str:
    """The page; ``sandboxes`` (the root's page only) lists the server's sandboxes with links."""
    from flask import request
    view = snapshot(server)
    journal = {"last": server.journal.last_seq(), "entries": server.journal.entries(0, 100)}
    # "</" must not close the script element: escape it inside the inline JSON.
    journal_json = json.dumps(journal).replace("<", "\\u003c")
    return render_template_string(TEMPLATE, base=base or request.url_root.rstrip("/"), faults=server.faults.list(),
                                  journal_json=journal_json, poll_ms=1000, sandboxes=sandboxes, **view)
