"""The OpenAPI document tells a client the refusals it will meet, in the body it will get."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _refusals(document: dict[str, Any], method: str, path: str) -> dict[int, str]:
    """Status -> schema reference of the 4xx answers the operation declares."""
    responses = document["paths"][path][method]["responses"]
    return {
        int(status): answer["content"]["application/json"]["schema"]["$ref"]
        for status, answer in responses.items()
        if status.startswith("4")
    }


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/needs/{need_id}", {401, 403, 404, 422}),
        ("patch", "/api/v1/needs/{need_id}", {400, 401, 403, 404, 409, 422}),
        ("post", "/api/v1/placements", {400, 401, 403, 404, 409, 422}),
        ("post", "/api/v1/auth/token", {400, 401, 422, 429}),
        ("get", "/api/v1/placements", {401, 403, 422}),
        ("get", "/api/v1/needs", {401, 403, 422}),
        ("get", "/api/v1/audit/events", {401, 403, 422}),
        ("post", "/api/v1/profiles/import", {400, 401, 403, 409, 413, 422}),
        ("get", "/api/v1/auth/me", {401}),
        ("post", "/api/v1/search", {400, 401, 403, 422}),
        ("get", "/api/v1/health", set()),
    ],
)
def test_routes_declare_their_refusals_with_the_error_body(
    document: dict[str, Any], method: str, path: str, statuses: set[int]
) -> None:
    refusals = _refusals(document, method, path)
    assert set(refusals) == statuses
    assert set(refusals.values()) <= {ERROR_REF}


def test_no_operation_keeps_fastapis_own_validation_body(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("422")
            if answer is not None:
                assert answer["content"]["application/json"]["schema"]["$ref"] == ERROR_REF, (
                    method,
                    path,
                )
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_error_body_schema(document: dict[str, Any]) -> None:
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) >= {"code", "field", "message", "errors"}
    assert "ErrorDetail" in str(body["properties"]["errors"])


def test_interest_declares_both_its_successes(document: dict[str, Any]) -> None:
    # 201 for a new interest, 200 when the person had expressed (or withdrawn) it before
    responses = document["paths"]["/api/v1/needs/{need_id}/interest"]["post"]["responses"]
    assert {"200", "201"} <= set(responses)
    for status in ("200", "201"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/InterestPublic")


def test_export_declares_its_content_types(document: dict[str, Any]) -> None:
    content = document["paths"]["/api/v1/placements/export"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/csv", XLSX}
    plan = document["paths"]["/api/v1/plans/{plan_id}/export.xlsx"]["get"]["responses"]["200"]
    assert set(plan["content"]) == {XLSX}


def _unbounded_integers(schema: dict[str, Any], schemas: dict[str, Any], where: str) -> list[str]:
    """The integers of a request schema without a maximum (references followed once)."""
    found: list[str] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _unbounded_integers(schemas[name], schemas, f"{where}<{name}>")
    if schema.get("type") == "integer" and "maximum" not in schema:
        found.append(where)
    for key, sub in schema.get("properties", {}).items():
        found += _unbounded_integers(sub, schemas, f"{where}.{key}")
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += _unbounded_integers(sub, schemas, where)
    if "items" in schema:
        found += _unbounded_integers(schema["items"], schemas, f"{where}[]")
    return found


def test_every_integer_a_client_sends_is_bounded(document: dict[str, Any]) -> None:
    # PostgreSQL's integer ends at 2**31 - 1: an unbounded id reached a query and was a 500
    # there (owner_id 737774519669299072, found by make fuzz); SQLite took it silently.
    schemas = document["components"]["schemas"]
    found: list[str] = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                found += _unbounded_integers(param["schema"], schemas, f"{where} ?{param['name']}")
            for content in op.get("requestBody", {}).get("content", {}).values():
                found += _unbounded_integers(content["schema"], schemas, f"{where} body")
    assert found == []
