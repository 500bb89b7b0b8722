"""Thin HTTP handlers of the Algorithmia API, one module per resource: parse, call the domain,
render its objects (render.py). Handlers register by OpenAPI operationId
(:class:`mockserver.web.handlers.Handlers`); the composition root (:mod:`mockserver.app`)
turns each operation's path into a Flask rule, so the spec decides what routes exist."""
