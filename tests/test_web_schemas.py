"""web/schemas.py: the JSON API documents real response schemas, and its answers match them,
on a gallery site, a live-only site (schemathesis fuzzes it) and a site with both."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from ganpage.live.settings import LiveSettings
from ganpage.web.app import SiteConfig, create_app
from ganpage.web.schemas import CategorySummary, Picture, Problem
from helpers.models import make_tiny_model


@pytest.fixture(scope="module")
def client(tiny_gallery):
    app = create_app(tiny_gallery)
    with TestClient(app) as client:
        yield client
    app.close()


@pytest.fixture(scope="module")
def live_model(tmp_path_factory: pytest.TempPathFactory):
    return make_tiny_model(tmp_path_factory.mktemp("schemas") / "model")


def live_app(model, gallery=None):
    return create_app(gallery, SiteConfig(live_model=str(model),
                                          live=LiveSettings(pool_size=1, rate_per_second=0)))


@pytest.fixture(scope="module")
def live_only_app(live_model):
    app = live_app(live_model)
    yield app
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
    assert {c.title for c in categories} >= {"This Bagel Does Not Exist"}
    missing = client.get("/api/images/000000000000")
    assert missing.status_code == 404 and Problem.model_validate(missing.json()).detail


def test_a_live_sites_document_says_which_pictures_api_random_gives(live_only_app, live_model,
                                                                   tiny_gallery):
    with TestClient(live_only_app) as client:
        live_only = client.get("/openapi.json").json()
    both = live_app(live_model, tiny_gallery)
    with TestClient(both) as client:
        mixed = client.get("/openapi.json").json()
    both.close()
    assert response_schema(live_only, "/api/random", "200") == {
        "$ref": "#/components/schemas/DrawnPicture"}
    assert response_schema(mixed, "/api/random", "200")["anyOf"] == [
        {"$ref": "#/components/schemas/Picture"}, {"$ref": "#/components/schemas/DrawnPicture"}]
    for document in (live_only, mixed):  # the model still loading: 503, not 404
        assert set(document["paths"]["/api/random"]["get"]["responses"]) == {"200", "503"}
    assert "503" in live_only["paths"]["/api/categories"]["get"]["responses"]


@pytest.mark.slow
def test_a_live_only_sites_api_fuzzed_from_its_document(live_only_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", live_only_app)
    cases = st.one_of(schema.as_strategy(GenerationMode.POSITIVE),
                      schema.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case) -> None:
        case.call_and_validate()  # schemathesis's checks: documented statuses, schemas, no 5xx

    answers_as_documented()
