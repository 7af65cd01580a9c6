"""The review page of ``ganpage serve GALLERY --review``: every picture, per category, with its
scores and flags, approved, rejected or undone by click or key; only for whoever has the token.

``tokens.py`` is the one secret (``Authorization: Bearer <token>`` for scripts, or a sign-in
that starts a session); ``sessions.py`` keeps sessions and wrong tries where every worker sees
them; ``auth.py`` checks a request's sign-in, a change's CSRF token and ``Origin``, and
throttles wrong tokens; ``filters.py`` is what the page shows; ``decisions.py`` writes the
gallery through a connection of its own, so the catalog's ``data_version`` sees the change;
``routes.py`` is the route table. What all this promises: ``docs/security.md``.
"""

from ganpage.web.review.tokens import login_line, review_token

__all__ = ["login_line", "review_token"]  # what `serve` needs before a site exists
