"""web/page_cache.py: rendered pages bounded in bytes, and `/` within its render budget: a
fresh random pick while renders take less than their share, a page drawn a moment ago past
it, each picture equally likely either way, and no page of a picture no longer shown."""

from __future__ import annotations

import collections

import pytest

from ganpage.gallery import Gallery
from ganpage.web.app import create_app
from ganpage.web.page_cache import PageCache, RandomPages, RenderBudget


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_allows_its_share_of_the_time_and_a_burst_at_most():
    clock = Clock()
    budget = RenderBudget(share=0.1, burst=0.05, clock=clock)
    assert budget.allows()
    budget.spend(0.06)
    assert not budget.allows()
    clock.now += 0.05  # 5 ms of rendering earned: still 5 ms short
    assert not budget.allows()
    clock.now += 0.2
    assert budget.allows()
    clock.now += 1000  # a quiet spell saves up no more than the burst
    budget.allows()
    assert budget.left == pytest.approx(0.05)


@pytest.fixture
def site(tiny_gallery):
    app = create_app(tiny_gallery)
    yield app
    app.close()


def counting_pages(app) -> tuple[RandomPages, list[str]]:
    """Pages of the app's catalog whose render (the id itself) takes 1 ms on the test's clock."""
    rendered = []
    clock = Clock()

    def render(record):
        rendered.append(record.id)
        clock.now += 0.001
        return record.id.encode()

    pages = RandomPages(app.catalog, render, PageCache(max_bytes=3 * 12),
                        RenderBudget(share=0.1, burst=0.001, clock=clock))
    pages.clock = clock
    return pages, rendered


def test_within_the_budget_every_page_is_a_fresh_pick(site):
    pages, rendered = counting_pages(site)
    site.catalog._random.seed(5)
    picks = []
    for _ in range(300):
        pages.clock.now += 1  # a quiet site: the budget never runs out
        picks.append(pages.random_page().decode())
    site.catalog._random.seed(5)
    assert picks == [site.catalog.random_id() for _ in range(300)]
    assert len(rendered) > 200  # a cache of 3 pages: most are rendered


def test_past_the_budget_a_page_drawn_a_moment_ago_is_sent_again(site):
    pages, rendered = counting_pages(site)
    pages.budget.spend(1000)  # a busy site: no render allowed for a long while
    assert pages.random_page() is not None and len(rendered) == 1  # nothing recent yet
    pages._random.seed(3)
    site.catalog._random.seed(3)
    for _ in range(40):  # ten seconds of renders at 10%: some recent pages to send again
        pages.budget.left = 0.001
        pages.random_page()
    drawn_before = {image_id.encode() for image_id in rendered}
    rendered.clear()
    pages.budget.spend(1000)
    picks = collections.Counter(pages.random_page() for _ in range(2000))
    assert not rendered  # over budget: nothing rendered, every page one drawn before
    assert set(picks) <= drawn_before and len(picks) >= 10


def test_each_picture_is_equally_likely_whatever_the_budget(site):
    pages, _ = counting_pages(site)
    pages._random.seed(11)
    site.catalog._random.seed(11)
    draws = 24_000
    picks = collections.Counter()
    for n in range(draws):
        if n % 10 == 0:
            pages.budget.left = 0.001  # renders for one in ten requests
        picks[pages.random_page()] += 1
    assert len(picks) == 12
    shares = sorted(count / draws for count in picks.values())
    assert shares[0] > 1 / 12 * 0.8 and shares[-1] < 1 / 12 * 1.2, shares


def test_a_picture_no_longer_shown_leaves_the_cache_and_the_recent_pages(site, tmp_path):
    pages, _ = counting_pages(site)
    for _ in range(50):
        pages.budget.left = 0.001
        pages.random_page()
    victim = pages.recent[-1][0]
    pages.forget({victim})
    assert victim not in {i for i, _ in pages.recent} and pages.cache.get(victim) is None
    with Gallery.open(site.catalog.gallery.root) as gallery:
        assert gallery.get(victim) is not None  # the test forgot it; the gallery kept it
