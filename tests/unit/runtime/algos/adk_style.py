"""Written for the Algorithmia ADK: calls ADK(...).init() at import time."""
from Algorithmia import ADK


def load():
    return {"model": "tiny"}


def apply(input, model):
    return f"{model['model']}:{input}"


algorithm = ADK(apply, load)
algorithm.init("Algorithmia")
