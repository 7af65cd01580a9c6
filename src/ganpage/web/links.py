"""Where the site's pages link to, so one set of templates serves ``ganpage serve`` and the
static site: absolute paths (``/p/<id>``) for the server, relative file names
(``../p/<id>.html``) for a static site that must work from any sub-path.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganpage.gallery import ImageRecord

# style -> kind -> the spelling of that page's path from the site's root.
SERVER_PATHS = {"home": "", "picture": "p/{id}", "category": "c/{slug}",
                "category_page": "c/{slug}?page={page}", "categories": "categories",
                "about": "about", "static": "static/{name}", "image": "images/{path}"}
STATIC_PATHS = {"home": "", "picture": "p/{id}.html", "category": "c/{slug}.html",
                "category_page": "c/{slug}.page{page}.html", "categories": "categories.html",
                "about": "about.html", "static": "static/{name}", "image": "images/{path}"}
# build-site --permalinks shards: a category has one page, and its further pages are that page
# with the page's number in the fragment (drawn by static/category.js): no file, no routing.
SHARDED_PATHS = {**STATIC_PATHS, "category_page": "c/{slug}.html#page={page}"}
PATHS = {"server": SERVER_PATHS, "static": STATIC_PATHS, "sharded": SHARDED_PATHS}


@dataclass(frozen=True)
class Links:
    """The links of one page: ``base`` (``/`` for the server; ``""`` or ``../`` for a static
    page, by its depth) joined to each page's path; ``public_url`` makes OpenGraph's absolute
    URLs. ``nav`` holds extra (label, path) entries of the navigation, such as a live page."""

    base: str = "/"
    public_url: str = ""
    style: str = "server"  # or "static", "sharded" (a static site's shards layout)
    nav: tuple[tuple[str, str], ...] = ()
    image_base: str = ""  # set (https://cdn.example/gallery): pictures are served from there

    def path(self, kind: str, **values: object) -> str:
        """The page's path from the site's root (``p/<id>.html``), without ``base``."""
        return PATHS[self.style][kind].format(**values)

    def _href(self, kind: str, **values: object) -> str:
        href = self.base + self.path(kind, **values)
        return href or "./"  # the home page of a static page at the site's root

    def home(self) -> str:
        return self._href("home")

    def picture(self, image_id: str) -> str:
        return self._href("picture", id=image_id)

    def category(self, slug: str, page: int = 1) -> str:
        if page > 1:
            return self._href("category_page", slug=slug, page=page)
        return self._href("category", slug=slug)

    def categories(self) -> str:
        return self._href("categories")

    def about(self) -> str:
        return self._href("about")

    def static(self, name: str) -> str:
        return self._href("static", name=name)

    def image(self, record: ImageRecord) -> str:
        if self.image_base:
            return f"{self.image_base}/{record.relative_path}"
        return self._href("image", path=record.relative_path)

    def extra_nav(self) -> list[tuple[str, str]]:
        """(label, href) of the extra navigation entries."""
        return [(label, self.base + path) for label, path in self.nav]

    def public(self, href_path: str) -> str:
        """The absolute URL of a path from the site's root for OpenGraph and sitemaps; the
        server without a public URL keeps its absolute path, a static site gives ``""``."""
        if self.public_url:
            return f"{self.public_url.rstrip('/')}/{href_path}"
        return "/" + href_path if self.style == "server" else ""

    def public_picture(self, image_id: str) -> str:
        return self.public(self.path("picture", id=image_id))

    def public_image(self, record: ImageRecord) -> str:
        if self.image_base:
            return f"{self.image_base}/{record.relative_path}"
        return self.public(self.path("image", path=record.relative_path))
