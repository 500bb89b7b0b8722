def apply(input):
    if isinstance(input, (bytes, bytearray)):
        return {"type": "bytes", "len": len(input)}
    return {"type": type(input).__name__, "value": input}
