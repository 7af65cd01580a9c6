"""Graceful stops: the first signal is a request, the second Ctrl-C stops at once."""

import os
import signal

import pytest

from ganpage.interrupt import stop_on_signals


@pytest.mark.slow
def test_first_signal_is_a_request_and_a_second_ctrl_c_stops_at_once(sigint_raises):
    before = signal.getsignal(signal.SIGINT)
    with stop_on_signals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and stop.signal_name == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert stop.signal_name == "SIGTERM"  # the first signal is the one reported
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.slow
def test_an_ignored_signal_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_on_signals() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.requested
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
