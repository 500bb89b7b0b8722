"""The no-op callable the invocation benchmark binds to."""


def apply(input):
    return input
