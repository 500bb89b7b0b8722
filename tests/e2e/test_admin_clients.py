"""Admin-side calls of both official clients against a live server."""
from pathlib import Path

import Algorithmia
import pytest

from support.api import ADMIN, ALICE, DEMO
from support.clients import run_generated

HERE = Path(__file__).parent


def test_generated_client_deserializes_admin_resources(live_server, generated_client):
    version, path = generated_client
    done = run_generated(path, HERE / "generated_client_admin.py", live_server.url, ADMIN, DEMO, version)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"generated client {version}: all admin calls ok" in done.stdout


def test_python_client_admin_calls(live_server):
    admin = Algorithmia.client(ADMIN, live_server.url)
    scms = admin.scms()
    assert any(s["provider"] == "internal" for s in scms["results"])
    types = admin.get_org_types()
    assert {t["name"] for t in types} == {"legacy", "basic", "pro"}
    created = admin.create_org({"org_name": "pyorg", "org_label": "Py Org", "org_contact_name": "Py",
                                "org_email": "py@pyorg.com", "org_url": "https://py.example",
                                "type_id": "basic", "resource_type": "organization"})
    assert created["org_name"] == "pyorg"
    got = admin.get_org("pyorg")
    assert got["org_label"] == "Py Org" and got["type_id"] == types[1]["id"]
    got["org_label"] = "Py Org Edited"
    got["type_id"] = "pro"
    admin.edit_org("pyorg", got)
    assert admin.get_org("pyorg")["org_label"] == "Py Org Edited"
    admin.invite_to_org("pyorg", "demo")
    user = Algorithmia.client(DEMO, live_server.url)
    assert user.get_org("pyorg")["error"]["code"] == 2001     # seed 001: an admin key, members too
    members = admin.getJsonHelper("/v1/organizations/pyorg/members")["results"]
    assert {m["username"] for m in members} == {"demo"}
    assert admin.deleteHelper("/v1/organizations/pyorg").status_code == 204   # no delete_org in 2.0.5
    assert admin.get_org("pyorg")["error"]["code"] == 3100
    made = admin.create_user({"username": "pyuser", "email": "py@pyuser.com", "fullname": "Py User"})
    assert made["username"] == "pyuser"
    assert user.get_supported_languages()
    assert user.get_secret_providers()[0]["id"]


def test_python_client_create_user_error_is_raised(live_server):
    admin = Algorithmia.client(ADMIN, live_server.url)
    # postJsonHelper raises a bare Exception for a non-2xx answer (the client's own choice)
    with pytest.raises(Exception, match="409"):
        admin.create_user({"username": "demo", "email": "x@yz.com", "fullname": "Dup"})


def test_python_client_user_key_cannot_admin(live_server):
    with pytest.raises(Exception, match="403"):
        Algorithmia.client(ALICE, live_server.url).create_user({"username": "zz", "email": "z@zz.com", "fullname": "Z"})
