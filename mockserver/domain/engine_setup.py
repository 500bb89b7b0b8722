"""The invocation engine of a server process, from the run's Settings: the server-wide pools
(admission), who runs user code (isolation), which code may be bound (the code policy).

Flask-free on purpose: the ``mockserver`` command builds them before it imports the app, so the
fixtures' binding checks start in their child processes while Flask and the routes load
(docs/speed.md, "Start-up"); ``MockServer`` then takes them over (``app.create_app(parts=...)``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from mockserver.resources import resource_path
from mockserver.runtime import Engine
from mockserver.runtime.admission import Admission
from mockserver.runtime.capacity import ProcessBudget
from mockserver.runtime.isolation import Isolation
from mockserver.runtime.policy import CodePolicy
from mockserver.settings import Settings


@dataclass
class EngineParts:
    """The root server's admission, isolation and engine (its sandboxes make engines of their own)."""
    admission: Admission
    isolation: Isolation
    engine: Engine


def admission_for(settings: Settings) -> Admission:
    return Admission.for_threads(settings.threads, settings.invocations_max, settings.invocations_per_sandbox,
                                 settings.binding_checks_max, settings.binding_checks_per_sandbox,
                                 settings.builds_max, settings.builds_per_sandbox,
                                 ProcessBudget(settings.worker_processes_max))


def isolation_for(settings: Settings) -> Isolation:
    return Isolation.from_settings(settings.worker_uids, settings.worker_env, storage_dir=settings.storage_dir,
                                   worker_disk_mb=settings.worker_disk_mb)


def engine_for(settings: Settings, isolation: Isolation, admission: Admission, tenant: str) -> Engine:
    return Engine(scale=settings.profile_scale, policy=code_policy(settings),
                  invocations_per_key=settings.invocations_per_key, isolation=isolation,
                  admission=admission.tenant(tenant))


def engine_parts(settings: Settings) -> EngineParts:
    """A root server's parts, built in the order ``MockServer`` builds them."""
    admission = admission_for(settings)
    isolation = isolation_for(settings)
    return EngineParts(admission, isolation, engine_for(settings, isolation, admission, "default"))


def code_policy(settings: Settings) -> CodePolicy:
    """Bindings over HTTP and in fixtures may name the bundled sandbox algorithms, the
    configured folders and module prefixes, and code in the folders of start-up fixture files
    (``--fixtures`` and ``--extra-fixtures`` alike). What may run in-process is not a matter of
    folders but of provenance (``Binding.trusted``): built commits run from the checkout cache
    by provenance too (``Binding.checkout``): no binding may name it, and its code never runs
    in-process."""
    bundled = str(resource_path("fixtures", "default.yaml"))      # fixtures.default_fixture()
    fixture_dirs = [os.path.dirname(os.path.abspath(p)) for p in settings.fixtures or [bundled]]
    extra_fixture_dirs = [os.path.dirname(os.path.abspath(p)) for p in settings.extra_fixtures]
    return CodePolicy([str(resource_path("fixtures", "algorithms")), *settings.algorithm_dirs, *fixture_dirs,
                       *extra_fixture_dirs], settings.algorithm_modules)
