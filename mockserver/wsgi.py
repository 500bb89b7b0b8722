"""WSGI entry for gunicorn: ``gunicorn -c python:mockserver.gunicorn_conf mockserver.wsgi:app``.

Settings come from MOCKSERVER_* environment variables (see config.Settings.from_env).
"""
from .app import create_app
from .config import Settings

app = create_app(Settings.from_env())
