"""The free hosts' limits a static site is checked against, and the notes naming the fix."""

from ganpage.site_hosts import HOSTS, host_notes
from ganpage.site_writer import SiteTotals

MIB = 2**20


def totals(files: int, size: int, large=(), fullest=None) -> SiteTotals:
    return SiteTotals(files, size, list(large), fullest or ("p/", files // 2))


def test_a_small_site_passes_every_host():
    assert host_notes(totals(4_000, 20 * MIB)) == []


def test_each_host_passed_is_one_line_naming_its_limits_and_the_fix():
    notes = host_notes(totals(20_001, 20 * MIB, fullest=("p/", 10_000)))
    assert len(notes) == 1 and "Cloudflare Pages" in notes[0] and "20,000 files" in notes[0]
    assert "--image-base-url" in notes[0]
    big = host_notes(totals(2_000_000, 9 * 2**30, fullest=("p/", 1_000_000)))
    assert len(big) == len(HOSTS)  # one line a host, each limit it passes named
    assert "200,000 files and 1 GiB" in next(note for note in big if "GitLab" in note)
    assert "p/ has 1,000,000" in next(note for note in big if "Netlify" in note)


def test_a_page_per_picture_names_shards_and_pictures_elsewhere_as_the_fix():
    note = host_notes(totals(202_000, 3 * 2**30))[0]
    assert "build with --permalinks shards and --image-base-url URL" in note
    elsewhere = host_notes(totals(1_000_000, 4 * 2**30), pictures_inside=False)[0]
    assert "build with --permalinks shards (" in elsewhere
    assert "--image-base-url" not in elsewhere and "nginx" in elsewhere


def test_a_sharded_site_names_what_it_does_not_use_yet():
    inside = host_notes(totals(1_020_000, 2 * 2**30, fullest=("images/cat/", 10_000)),
                        sharded=True)
    assert inside and all("build with --image-base-url URL" in note for note in inside)
    assert not any("--permalinks" in note for note in inside)
    past_all = host_notes(totals(250_000, 2 * 2**30), pictures_inside=False, sharded=True)
    assert past_all and all("build with" not in note and "ganpage serve" in note
                            for note in past_all)


def test_a_sharded_site_of_a_million_pictures_elsewhere_passes_every_host():
    """docs/static-site.md's projection (benchmarks/site_layouts.py, from a build of 30,000
    pictures in 100 categories) at 1,000,000 pictures, sharded, with --image-base-url and a
    sitemap: with ImageNet's 1,000 categories 6,066 files (2,048 shards, and a page, a grid
    list, a list of ids and a sitemap a category: 4,000, 18 others), 0.63 GB; the fullest
    folder is shards/, c/ holding 2 files a category."""
    notes = host_notes(totals(6_066, 630_000_000, fullest=("shards/", 2_048)),
                       pictures_inside=False, sharded=True)
    assert notes == []
    assert len(host_notes(totals(6_066 + 1_000_000, 1_820_000_000,
                                 fullest=("images/cat/", 1_000)), sharded=True)) == 3
    # what stops the layout with pictures elsewhere: 1 GiB past ~1.7 million pictures, and
    # Cloudflare's 20,000 files past ~4,480 categories
    assert [note.split(" takes")[0].rsplit("than ", 1)[1] for note in host_notes(
        totals(2_048 + 4 * 4_500 + 18, 2**30 + 1, fullest=("c/", 9_000)),
        pictures_inside=False, sharded=True)] == ["Cloudflare Pages (free plan)",
                                                   "GitHub Pages", "GitLab Pages"]


def test_a_file_over_25_mib_is_named_with_its_fix():
    notes = host_notes(totals(10, 30 * MIB,
                              [("live/ort-wasm-simd-threaded.asyncify.wasm", 28 * MIB)]))
    assert notes[0].startswith("live/ort-wasm-simd-threaded.asyncify.wasm is 28.0 MiB")
    assert "--no-webgpu" in notes[0]
