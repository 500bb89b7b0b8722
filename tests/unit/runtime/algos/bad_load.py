calls = 0


def load():
    raise RuntimeError("model file missing")


def apply(input):
    return "never"
