def apply(input):
    if isinstance(input, dict):
        print(input["text"] * int(input.get("times", 1)), end="")
        return None
    print("got", input)
    return "printed"
