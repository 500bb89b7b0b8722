"""The HTTP edge: app factory, spec gate, auth, CORS, error rendering, git smart HTTP."""
