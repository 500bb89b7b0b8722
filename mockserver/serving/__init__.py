"""Serving: the mockserver command, waitress, the WSGI entry, the live server and remote mode of the pytest plugin."""
