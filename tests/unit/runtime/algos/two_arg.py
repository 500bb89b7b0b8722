def apply(input, state):
    return {"input": input, "state": state}
