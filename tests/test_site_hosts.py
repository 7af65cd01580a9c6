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
    """docs/static-site.md's projection (benchmarks/site_layouts.py, from a build of 100,040
    pictures in 100 categories) at 1,000,000 pictures, sharded, with --image-base-url and a
    sitemap: 18,982 files (2,048 shards, 16,717 category pages, 100 lists of ids, 102 sitemaps,
    15 others), 0.82 GB; 54,000 files in c/ only past ~3.2 million pictures."""
    notes = host_notes(totals(18_982, 824_933_919, fullest=("c/", 16_717)),
                       pictures_inside=False, sharded=True)
    assert notes == []
    assert len(host_notes(totals(18_982 + 1_000_000, 2_020_000_000,
                                 fullest=("images/cat/", 10_000)), sharded=True)) == 3


def test_a_file_over_25_mib_is_named_with_its_fix():
    notes = host_notes(totals(10, 30 * MIB,
                              [("live/ort-wasm-simd-threaded.asyncify.wasm", 28 * MIB)]))
    assert notes[0].startswith("live/ort-wasm-simd-threaded.asyncify.wasm is 28.0 MiB")
    assert "--no-webgpu" in notes[0]
