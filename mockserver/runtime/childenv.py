"""The environment of every process that runs user code: workers, import checks, pip.

One builder for calls and builds. Code that arrived over HTTP or git (bindings set through
the control API or HTTP fixtures, pushed commits) starts from almost nothing: the few
variables below that a program needs to run and to reach the network, plus the names the
operator lists with ``--worker-env``. Code the pytest plugin or the operator bound
(``Binding.trusted``) gets the server's environment, as it could run in the server's threads
anyway. Neither ever gets the server's ``MOCKSERVER_*`` settings (control key, admin key) or
``ALGORITHMIA_*`` variables; on top come the profile's and the call's variables.
"""
from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional

# What a program needs to run (PATH, locale, time zone, shared libraries), to reach the
# network as the machine does (proxies and CA bundles), and to write temporary files.
PASSED_NAMES = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "HOME", "TMPDIR",
    "PYTHONIOENCODING", "PYTHONUTF8",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
})
PASSED_PREFIXES = ("LC_",)
SERVER_PREFIXES = ("MOCKSERVER_", "ALGORITHMIA_")


def child_environment(*, trusted: bool, extra: Optional[Mapping[str, str]] = None, passthrough: Iterable[str] = (),
                      drop: Iterable[str] = (), home: Optional[str] = None,
                      source: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment of a process running user code.

    ``passthrough``: more names of the server's environment to keep (``--worker-env``);
    ``drop``: names to leave out (GPU variables the profile does not set); ``home``: the
    worker's own folder when it runs under another uid (``HOME`` and ``TMPDIR``);
    ``extra``: the profile's and the call's variables, set last."""
    source = os.environ if source is None else source
    keep = frozenset(passthrough)
    dropped = frozenset(drop)
    env = {}
    for name, value in source.items():
        if name.startswith(SERVER_PREFIXES) or name in dropped:
            continue
        if trusted or name in PASSED_NAMES or name.startswith(PASSED_PREFIXES) or name in keep:
            env[name] = value
    if not trusted:
        env["PYTHONDONTWRITEBYTECODE"] = "1"       # never write caches into folders it shares
    if home is not None:
        env["HOME"] = env["TMPDIR"] = home
        for name in ("USER", "LOGNAME"):
            env.pop(name, None)
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env
