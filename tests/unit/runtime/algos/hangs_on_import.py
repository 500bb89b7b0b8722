"""An import that does not finish (for binding checks): sleeps at import time."""
import time

time.sleep(60)


def apply(input):
    return input
