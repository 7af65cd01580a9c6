"""The documented limits of free static hosts (sources in docs/static-site.md), and the one-line
notes a build prints when its site passes one of them, each naming what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 2**20


@dataclass(frozen=True)
class HostLimits:
    name: str
    files: int | None = None  # files per site
    file_bytes: int | None = None  # bytes a file
    site_bytes: int | None = None  # bytes per site


HOSTS = (
    HostLimits("Cloudflare Pages (free plan)", files=20_000, file_bytes=25 * MIB),
    HostLimits("GitHub Pages", site_bytes=2**30),
    HostLimits("GitLab Pages", files=200_000, site_bytes=2**30),
)
FEWER_FILES = ("split the gallery into several sites (`--show` a part of it), or serve it with "
               "`ganpage serve` or nginx (deploy/nginx/ganpage-site.conf)")
SMALLER_SITE = ("most of it is pictures: host them elsewhere (object storage or a CDN) or "
                "serve the site with nginx (deploy/nginx/ganpage-site.conf)")


def host_notes(files: int, size: int, large: list[tuple[str, int]]) -> list[str]:
    """One note per host whose limit a site of ``files`` files and ``size`` bytes passes
    (``large``: its files over 25 MiB, path and size), each with the fix."""
    notes = []
    for path, bytes_ in large:
        fix = (" (build with --no-webgpu to leave the WebGPU runtime out)"
               if "asyncify" in path else "")
        notes.append(f"{path} is {bytes_ / MIB:.1f} MiB, more than Cloudflare Pages takes "
                     f"(25 MiB a file){fix}; GitHub Pages, Netlify and nginx serve it")
    for host in HOSTS:
        if host.files is not None and files > host.files:
            notes.append(f"the site has {files:,} files, more than {host.name} takes "
                         f"({host.files:,}); {FEWER_FILES}")
        if host.site_bytes is not None and size > host.site_bytes:
            notes.append(f"the site is {size / 2**30:.1f} GiB, more than {host.name} takes "
                         f"({host.site_bytes / 2**30:.0f} GiB); {SMALLER_SITE}")
    return notes
