import yaml
from openapi_spec_validator import validate

from mockserver.resources import resource_path


def test_spec_is_a_valid_openapi_document():
    with open(resource_path("openapi", "algorithmia.yaml")) as fh:
        validate(yaml.safe_load(fh))
