"""The platform's new-algorithm template (Python 3), used for algorithms that
were created through the API and have no binding."""


def apply(input):
    return "hello {}".format(input)
