"""The links one set of templates makes for the server and for a static site."""

from ganpage.gallery import ImageRecord
from ganpage.web.links import Links

RECORD = ImageRecord(id="0123456789ab", category="hamster", category_name="Hamster", label=0,
                     model_id="m", seed=1, truncation=0.5, width=32, height=32, format="webp",
                     sha256="0" * 64)


def test_server_links_are_absolute_paths():
    links = Links()
    assert [links.home(), links.picture(RECORD.id), links.category("hamster"),
            links.category("hamster", 2), links.categories(), links.about(),
            links.static("site.css"), links.image(RECORD)] == [
        "/", "/p/0123456789ab", "/c/hamster", "/c/hamster?page=2", "/categories", "/about",
        "/static/site.css", "/images/hamster/0123456789ab.webp"]
    assert links.public_picture(RECORD.id) == "/p/0123456789ab"  # no public URL: as before
    assert Links(public_url="https://x.example/").public_image(RECORD) == (
        "https://x.example/images/hamster/0123456789ab.webp")


def test_static_links_are_relative_to_the_page():
    top, deep = Links(base="", style="static"), Links(base="../", style="static")
    assert top.home() == "./" and deep.home() == "../"
    assert top.picture(RECORD.id) == "p/0123456789ab.html"
    assert deep.picture(RECORD.id) == "../p/0123456789ab.html"
    assert deep.category("hamster", 3) == "../c/hamster.page3.html"
    assert deep.image(RECORD) == "../images/hamster/0123456789ab.webp"
    assert top.public_picture(RECORD.id) == ""  # OpenGraph URLs need --public-url
    public = Links(base="../", public_url="https://u.github.io/mysite", style="static")
    assert public.public_picture(RECORD.id) == "https://u.github.io/mysite/p/0123456789ab.html"


def test_extra_navigation_entries_follow_the_base():
    links = Links(base="../", style="static", nav=(("Drawn live", "live.html"),))
    assert links.extra_nav() == [("Drawn live", "../live.html")]
