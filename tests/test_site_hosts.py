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


def test_with_pictures_elsewhere_the_fix_is_another_host():
    note = host_notes(totals(1_000_000, 4 * 2**30), pictures_inside=False)[0]
    assert "--image-base-url" not in note and "nginx" in note


def test_a_file_over_25_mib_is_named_with_its_fix():
    notes = host_notes(totals(10, 30 * MIB,
                              [("live/ort-wasm-simd-threaded.asyncify.wasm", 28 * MIB)]))
    assert notes[0].startswith("live/ort-wasm-simd-threaded.asyncify.wasm is 28.0 MiB")
    assert "--no-webgpu" in notes[0]
