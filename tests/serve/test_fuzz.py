"""Schema-driven fuzzing of the service's OpenAPI spec: whatever a client sends, never a 5xx."""

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from nlpseq.serve import Limits, create_app, load_served  # noqa: E402


@pytest.fixture(scope="module")
def app(tiny_run, mt_run):
    # Each model in a process of its own, as served: a request that kills one shows as a restart.
    return create_app({"sentiment": load_served("sentiment", tiny_run), "translate": load_served("translate", mt_run)},
                      Limits(max_texts=8, max_chars=300, max_beam=4, timeout_s=30))


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _restarts(app) -> dict[str, int]:
    from fastapi.testclient import TestClient

    return {name: m["restarts"] for name, m in TestClient(app).get("/healthz").json()["models"].items()}


def test_no_server_errors(app, api_schema):
    before = _restarts(app)
    # The Python API rather than the pytest plugin: the schema needs trained runs from fixtures.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/sentiment", "/v1/translate", "/healthz", "/v1/models"}
    # Positive cases follow the schema; negative ones break it (wrong types, missing and extra keys).
    # (GET operations take no input to break.)
    for operation, mode in ((op, mode) for op in operations for mode in GenerationMode
                            if mode is GenerationMode.POSITIVE or op.method.upper() == "POST"):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def check(case):
            response = case.call()
            what = f"{mode.name} {case.method} {case.path} {case.body!r} -> {response.status_code} {response.text}"
            assert response.status_code < 500, what  # no 5xx at all: not even a 503 (no call here times out)
            if mode is GenerationMode.NEGATIVE and case.method.upper() == "POST":
                assert 400 <= response.status_code < 500, what  # a request that breaks the schema is refused
            if response.status_code >= 400:
                assert "error" in response.json()  # every refusal is a JSON object naming the problem

        check()
    assert _restarts(app) == before  # no request killed a model process (a restart would hide it)
