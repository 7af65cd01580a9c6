"""The documented limits of free static hosts (sources in docs/static-site.md), and the one-line
notes a build prints when its site passes one of them, each naming what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganpage.site_permalinks import SHARDS
from ganpage.site_writer import SiteTotals

MIB = 2**20


@dataclass(frozen=True)
class HostLimits:
    name: str
    files: int | None = None  # files per site
    file_bytes: int | None = None  # bytes a file
    site_bytes: int | None = None  # bytes per site
    folder_files: int | None = None  # files in one folder


HOSTS = (
    HostLimits("Cloudflare Pages (free plan)", files=20_000, file_bytes=25 * MIB),
    HostLimits("GitHub Pages", site_bytes=2**30),
    HostLimits("GitLab Pages", files=200_000, site_bytes=2**30),
    HostLimits("Netlify", folder_files=54_000),
)
SHARDS_FIX = ("--permalinks shards", f"the pictures' pages become {SHARDS:,} JSON files that "
              "one page reads, and a category's pages one page and its list")
PICTURES_FIX = ("--image-base-url URL", "copy the gallery's picture folders there, to object "
                "storage or a CDN; the site keeps only its pages")
OTHER_HOSTS = "serve it with `ganpage serve` or nginx (deploy/nginx/ganpage-site.conf)"


def the_fix(pictures_inside: bool, sharded: bool) -> str:
    """What to do about a host's limits: the layout options the site does not use yet (see
    docs/static-site.md, "Big galleries"), or another host."""
    options = [fix for fix, missing in ((SHARDS_FIX, not sharded), (PICTURES_FIX, pictures_inside))
               if missing]
    if not options:
        return OTHER_HOSTS
    return (f"build with {' and '.join(option for option, _ in options)} "
            f"({'; '.join(why for _, why in options)}), or {OTHER_HOSTS}")


def host_notes(totals: SiteTotals, pictures_inside: bool = True,
               sharded: bool = False) -> list[str]:
    """One note per host whose limits the site passes, and one per file over 25 MiB, each
    with the fix; ``pictures_inside``: the pictures are files of the site (not elsewhere);
    ``sharded``: built with ``--permalinks shards``."""
    notes = []
    for path, bytes_ in totals.large:
        fix = (" (build with --no-webgpu to leave the WebGPU runtime out)"
               if "asyncify" in path else "")
        notes.append(f"{path} is {bytes_ / MIB:.1f} MiB, more than Cloudflare Pages takes "
                     f"(25 MiB a file){fix}; GitHub Pages, Netlify and nginx serve it")
    fix = the_fix(pictures_inside, sharded)
    folder, in_folder = totals.fullest_folder
    for host in HOSTS:
        passed = []
        if host.files is not None and totals.files > host.files:
            passed.append(f"{host.files:,} files")
        if host.site_bytes is not None and totals.size > host.site_bytes:
            passed.append(f"{host.site_bytes / 2**30:.0f} GiB")
        if host.folder_files is not None and in_folder > host.folder_files:
            passed.append(f"{host.folder_files:,} files in a folder: {folder or './'} has "
                          f"{in_folder:,}")
        if passed:
            notes.append(f"the site ({totals.files:,} files, {totals.size / 2**30:.2f} GiB) is "
                         f"more than {host.name} takes ({' and '.join(passed)}); {fix}")
    return notes
