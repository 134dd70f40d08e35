"""The OpenAPI 3.1 document validates; the docs page loads Swagger UI from our static files."""

from openapi_spec_validator import validate


def test_the_openapi_document_is_valid_openapi_3_1(client, db):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert {"/api/v1/orders", "/api/v1/orders/{public_id}", "/api/v1/products"} <= set(
        document["paths"]
    )
    post = document["paths"]["/api/v1/orders"]["post"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"])


def test_the_interactive_docs_use_bundled_swagger_ui_not_a_cdn(client, db):
    page = client.get("/api/v1/docs").content.decode()

    assert "swagger-ui-bundle.js" in page
    assert "cdn." not in page
