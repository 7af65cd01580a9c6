"""web/schemas.py: the JSON API documents real response schemas, and its answers match them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ganpage.web.app import create_app
from ganpage.web.schemas import CategorySummary, Picture, Problem


@pytest.fixture(scope="module")
def client(tiny_gallery):
    app = create_app(tiny_gallery)
    with TestClient(app) as client:
        yield client
    app.close()


def response_schema(document: dict, path: str, status: str) -> dict:
    return document["paths"][path]["get"]["responses"][status]["content"]["application/json"][
        "schema"]


def test_the_openapi_document_names_each_answer_model(client):
    document = client.get("/openapi.json").json()
    assert response_schema(document, "/api/random", "200") == {
        "$ref": "#/components/schemas/Picture"}
    assert response_schema(document, "/api/images/{image_id}", "404") == {
        "$ref": "#/components/schemas/Problem"}
    assert response_schema(document, "/api/categories", "200")["items"] == {
        "$ref": "#/components/schemas/CategorySummary"}
    picture = document["components"]["schemas"]["Picture"]
    assert picture["additionalProperties"] is False and "author" in picture["required"]


def test_the_answers_match_their_models(client):
    picture = Picture.model_validate(client.get("/api/random").json())
    assert Picture.model_validate(client.get(f"/api/images/{picture.id}").json()) == picture
    categories = [CategorySummary.model_validate(c) for c in client.get("/api/categories").json()]
    assert sum(c.count for c in categories) == 12
    missing = client.get("/api/images/000000000000")
    assert missing.status_code == 404 and Problem.model_validate(missing.json()).detail
