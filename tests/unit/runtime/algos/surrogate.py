"""Returns (or raises with) a lone surrogate, which no UTF-8 response can carry."""


def apply(input):
    if input == "raise":
        raise ValueError("bad \ud800 value")
    if input == "json":
        return {"text": "\ud800"}
    return "\ud800"
