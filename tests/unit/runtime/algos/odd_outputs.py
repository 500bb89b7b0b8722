class Rejected(Exception):
    error_type = "InputError"


def apply(input):
    if input == "set":
        return {1, 2}
    if input == "tuple":
        return (1, 2, {3: "x"})
    if input == "reject":
        raise Rejected("bad input, try again")
    if input == "void":
        return None
    if input == "bytearray":
        return bytearray(b"\x00\x01")
    return input
