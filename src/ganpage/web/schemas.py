"""The JSON API's answers as pydantic models: they give ``/openapi.json`` real response schemas,
which clients and schemathesis (``scripts/reliability.py``) check every answer against."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IMAGE_ID_PATTERN = r"^[0-9a-f]{12}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"


class Picture(BaseModel):
    """One picture: its recipe, where to see it and its curation state."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IMAGE_ID_PATTERN)
    category: str = Field(pattern=SLUG_PATTERN)
    category_name: str
    model_id: str
    seed: int | None = Field(description="null for a picture imported by label (see source)")
    truncation: float
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: str
    status: Literal["pending", "approved", "rejected"]
    scores: dict[str, float]
    source: str | None = Field(description="an imported picture's original file name")
    image_url: str = Field(pattern=r"^/images/[a-z0-9-]+/[0-9a-f]{12}\.(webp|png)$")
    permalink: str = Field(pattern=r"^/p/[0-9a-f]{12}$")
    author: str


class CategorySummary(BaseModel):
    """A category the site shows and how many pictures it has."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    count: int = Field(ge=0)
    url: str = Field(pattern=r"^/c/[a-z0-9-]+$")


class Problem(BaseModel):
    """An error: what is wrong, in one line."""

    model_config = ConfigDict(extra="forbid")

    detail: str


NOT_FOUND = {404: {"model": Problem, "description": "No such picture"}}
