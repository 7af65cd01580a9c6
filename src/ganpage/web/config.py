"""``SiteConfig``: what one site shows and how it is named, and its JSON form, in which it
travels to a server's worker processes. Imports no web framework and no live engine, so the
static build (``static_site.py``) needs neither.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ganpage.live.settings import LiveSettings


@dataclass(frozen=True)
class SiteConfig:
    """Settings of one site: what to show and how to name it."""

    site_name: str = "This X Does Not Exist"
    public_url: str = ""  # absolute base for OpenGraph URLs, e.g. https://example.org
    statuses: tuple[str, ...] = ("approved",)
    refresh_seconds: float = 1.0  # how often a worker looks for changes (a decision shows)
    review_token: str = field(default="", repr=False)  # set: the /review routes exist
    accel_redirect: str = ""  # set (e.g. /_gallery/): nginx sends picture bytes, ganpage checks
    live_model: str = ""  # set: pictures drawn by the server (/draw), `serve --live MODEL`
    live: LiveSettings | None = None  # the live model's knobs; None: LiveSettings()'s
    # proxies whose X-Forwarded-For/-Proto are believed (`serve --trusted-proxy`; web/proxies.py)
    trusted_proxies: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The settings as JSON values (``from_dict`` reads them back)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(statuses=list(self.statuses), trusted_proxies=list(self.trusted_proxies),
                      live=asdict(self.live) if self.live is not None else None)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> SiteConfig:
        """The settings ``to_dict`` wrote; names it does not know are left out."""
        known = {f.name for f in fields(cls)}
        chosen = {name: value for name, value in values.items() if name in known}
        for name in ("statuses", "trusted_proxies"):
            if name in chosen:
                chosen[name] = tuple(chosen[name])
        if chosen.get("live") is not None:
            from ganpage.live.settings import LiveSettings  # only a live site's workers

            chosen["live"] = LiveSettings.from_dict(chosen["live"])
        return cls(**chosen)
