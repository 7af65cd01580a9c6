"""The short form of scripts/reliability.py, in CI: each check against one real `ganpage serve`
with deploy/nginx/ganpage.conf in front; a check fails with the problems it found."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from helpers.nginx import NGINX

SCRIPT = Path(__file__).parents[1] / "scripts" / "reliability.py"
spec = importlib.util.spec_from_file_location("reliability", SCRIPT)
reliability = importlib.util.module_from_spec(spec)
sys.modules["reliability"] = reliability
spec.loader.exec_module(reliability)

MISSING = [tool for tool, found in (("wrk", shutil.which("wrk")), ("nginx", NGINX),
                                    ("openssl", shutil.which("openssl"))) if not found]
# In the order the script runs them. Each also passes alone or in another order (reversed:
# 12 passed): the damage check breaks the last two pictures and drops them from
# site.picture_urls, which the others read from the front; the writes only add pictures.
CHECKED = ["load", "overload", "worker", "locked", "readonly", "hostile", "slow", "fuzz", "damaged",
           "diskfull", "writes"]
WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8000/
  1 threads and 16 connections
  Latency Distribution
     50%  431.00us
     75%  800.00us
     90%    1.20ms
     99%    2.50s
  14370 requests in 1.00s, 33.00MB read
  Socket errors: connect 0, read 13, write 2, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:  14370.80
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed")
    with reliability.running_site(tmp_path_factory.mktemp("reliability"),
                                  reliability.SHORT) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKED)
def test_the_short_suite_finds_no_problem(site, name):
    outcome = reliability.CHECKS[name](site, reliability.SHORT)
    assert not outcome.problems, "\n".join(outcome.problems)
    assert outcome.figures


def test_every_check_of_the_script_runs_here():
    assert set(CHECKED) | {"filesize"} == set(reliability.CHECKS)


def test_wrk_figures_are_read_with_their_units(monkeypatch):
    class Finished:
        stdout = WRK_OUTPUT

    monkeypatch.setattr(reliability.subprocess, "run", lambda *a, **k: Finished)
    figures = reliability.wrk("http://127.0.0.1:8000/", 1, 16)
    assert figures == {"requests_per_s": 14370.8, "p50_ms": 0.43, "p99_ms": 2500.0,
                       "non_2xx": 7, "socket_errors": 15, "timeouts": 4}
