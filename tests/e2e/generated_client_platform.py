"""Invocation results, secrets and secret providers through the generated client
(algorithmia-api-client 1.5.5; issue 27 items 3 and 5).

Run in a subprocess whose sys.path holds that client: python this.py URL ADMIN USER
Every call deserializes the answer into the client's models; any exception fails the run.
"""
import json
import sys
import urllib.request

import algorithmia_api_client as g

url, admin_key, user_key = sys.argv[1:4]


def api(key):
    config = g.Configuration(host=url)
    config.api_key["Authorization"] = f"Simple {key}"
    return g.ApiClient(config, header_name="Authorization", header_value=f"Simple {key}")


user, admin = api(user_key), api(admin_key)
algorithms = g.AlgorithmsApi(user)

# A synchronous call: AlgorithmInvocationResult requires `async` (and request_id).
done = algorithms.call_algorithm("demo", "Hello", "0.1.1", "Neo")
assert isinstance(done, g.AlgorithmInvocationResult), type(done)
assert done._async is False and done.request_id, done
assert done.metadata.content_type == "text" and done.metadata.duration >= 0, done.metadata
raw = json.loads(algorithms.call_algorithm("demo", "Hello", "0.1.1", "Neo", _preload_content=False).data)
assert raw["result"] == "Hello Neo" and raw["async"] is False, raw
# A failing algorithm's answer deserializes too (error instead of result).
failed = algorithms.call_algorithm("demo", "Failing", "0.1.0", "x")
assert failed._async is False and "always fails" in failed.error.message, failed
# output=void: the acknowledgement.
ack = algorithms.call_algorithm("demo", "Hello", "0.1.1", "Neo", output="void")
assert ack._async is True and ack.request_id, ack

# Secret providers as ProviderInfo (camelCase on the wire).
providers = g.AdminApi(admin).admin_list_secret_providers()
assert providers and providers[0].module_name and providers[0].factory_class_name, providers
assert providers[0].is_default is True and providers[0].is_enabled is True and providers[0].created, providers[0]

# Secrets: created with the client, listed with secret_key, created and modified.
with urllib.request.urlopen(urllib.request.Request(f"{url}/v1/algorithms/demo/Hello",
                                                   headers={"Authorization": f"Simple {user_key}"})) as r:
    hello_id = json.loads(r.read())["id"]
secrets = g.SecretsApi(user)
made = secrets.create_algorithm_secret(hello_id, g.AlgorithmSecretCreateRequest(
    short_name="platform", description="issue 27", owner_type="algorithm", owner_id=hello_id,
    secret_key="PLATFORM_SECRET", secret_value="s3cret", provider_id=providers[0].id))
listed = json.loads(secrets.get_algorithm_secrets(hello_id, _preload_content=False).data)
entry = next(s for s in listed["results"] if s["id"] == made.id)
assert entry["secret_key"] == "PLATFORM_SECRET" and entry["created"] and entry["modified"], entry
assert "s3cret" not in json.dumps(listed)
secrets.delete_algorithm_secret(hello_id, made.id)
print("generated client: platform calls ok")
