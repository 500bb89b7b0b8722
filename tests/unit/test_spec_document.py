import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.edge.spec import load_document
from mockserver.resources import resource_path


@pytest.mark.parametrize("name", ["algorithmia.yaml", "control.yaml"])
def test_shipped_documents_are_valid_openapi(name):
    """The app skips openapi-core's spec validation at start-up (edge/spec.py): this is it."""
    with open(resource_path("openapi", name)) as fh:
        validate(yaml.safe_load(fh))


def test_the_fast_loader_reads_the_documents_as_the_safe_loader_does():
    for name in ("algorithmia.yaml", "control.yaml"):
        with open(resource_path("openapi", name)) as fh:
            assert load_document(resource_path("openapi", name)) == yaml.safe_load(fh)
