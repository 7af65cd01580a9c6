"""The JSON API's answers as pydantic models: they give ``/openapi.json`` real response schemas,
which clients and schemathesis (``scripts/reliability.py``) check every answer against."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ganpage.noise import MAX_SEED
from ganpage.web.conventions import IMAGE_ID, SLUG

# JSON Schema's patterns match anywhere in a value, so these are anchored here
IMAGE_ID_PATTERN = f"^{IMAGE_ID.pattern}$"
SLUG_PATTERN = f"^{SLUG.pattern}$"
RECIPE_QUERY_PATTERN = r"\?category=[a-z0-9-]+&seed=[0-9]+&truncation=[0-9.e-]+$"


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
    image_url: str = Field(pattern=rf"^/images/[a-z0-9-]+/{IMAGE_ID.pattern}\.(webp|png)$")
    permalink: str = Field(pattern=rf"^/p/{IMAGE_ID.pattern}$")
    author: str


class DrawnPicture(BaseModel):
    """A picture drawn by the server's live model (``serve --live``): named by its recipe, and
    drawn again, byte for byte, from its permalink or image URL."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=IMAGE_ID_PATTERN, description="the recipe's image id (the image's weak "
                    "ETag), the id a gallery picture of the same recipe has")
    category: str = Field(pattern=SLUG_PATTERN)
    category_name: str
    model_id: str
    seed: int = Field(ge=0, le=MAX_SEED)
    truncation: float = Field(gt=0, le=1)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    image_url: str = Field(pattern=r"^/draw/image\.webp" + RECIPE_QUERY_PATTERN)
    permalink: str = Field(pattern=r"^/draw" + RECIPE_QUERY_PATTERN)
    author: str


class CategorySummary(BaseModel):
    """A category the site shows and how many pictures it has."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    title: str = Field(description='its pages\' title, e.g. "This Hamster Does Not Exist"')
    count: int | None = Field(ge=0, description="the gallery's pictures of it; null on a live-"
                              "only site, whose pictures are drawn on demand (any seed)")
    url: str = Field(pattern=r"^/c/[a-z0-9-]+$")


class Problem(BaseModel):
    """An error: what is wrong, in one line."""

    model_config = ConfigDict(extra="forbid")

    detail: str


NOT_FOUND = {404: {"model": Problem, "description": "No such picture"}}
UNAVAILABLE = {503: {"model": Problem, "description": "The live model is loading or cannot be "
                     "loaded; try again after Retry-After seconds"}}
