import os

NAMES = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "ALGORITHMIA_API", "ALGORITHMIA_API_KEY",
         "ALGORITHMIA_PROFILE", "MOCKSERVER_SECRET_FOR_TEST")


def apply(input):
    return {name: os.environ.get(name) for name in NAMES}
