import os
import subprocess
import sys
import textwrap

import pytest

# A command's last words: an atexit handler, output still in the buffer, an object whose
# finaliser only the interpreter's teardown runs, maybe a worker thread that a normal exit would
# wait for, then exit_now(code).
SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    from ganpage.process_exit import exit_now

    class TornDown:
        def __del__(self):
            sys.stderr.write("torn down")

    kept = TornDown()  # a module global: freed only by the teardown
    atexit.register(lambda: print("atexit ran", end=" "))
    print("buffered", end=" ")  # stdout is a pipe: block-buffered, not yet written
    if sys.argv[1] == "thread":
        def finish_late():
            time.sleep(0.3)
            Path(sys.argv[2]).write_text("done")
        threading.Thread(target=finish_late).start()
    exit_now(int(sys.argv[-1]))
""")


def run(*args: str, stdout=subprocess.PIPE, shell_suffix: str = "") -> subprocess.CompletedProcess:
    """SCRIPT in a fresh interpreter with buffered stdout; ``shell_suffix`` ends a shell line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = [sys.executable, "-c", SCRIPT, *args]
    if shell_suffix:
        command = ["sh", "-c", '"$0" "$@" ' + shell_suffix, *command]
    return subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60,
                          env=env)


@pytest.mark.slow
def test_exit_now_skips_the_teardown_but_keeps_the_code_the_output_and_the_atexit_handlers():
    result = run("plain", "3")
    assert result.returncode == 3
    assert result.stdout == "buffered atexit ran "
    assert result.stderr == ""  # the finaliser did not run: no teardown


@pytest.mark.slow
def test_exit_now_waits_for_a_running_thread_like_a_normal_exit(tmp_path):
    marker = tmp_path / "marker"
    result = run("thread", str(marker), "3")
    assert result.returncode == 3
    assert marker.read_text() == "done"  # os._exit would have killed the thread first
    assert result.stdout == "buffered atexit ran "


@pytest.mark.slow
def test_output_that_cannot_be_written_fails_the_command_like_a_normal_exit():
    with open("/dev/full", "w") as full:
        assert run("plain", "0", stdout=full).returncode == 120
        assert run("plain", "3", stdout=full).returncode == 3  # a failure keeps its own code


@pytest.mark.slow
def test_a_closed_stdout_is_not_an_error():
    result = run("plain", "0", stdout=None, shell_suffix=">&-")
    assert result.returncode == 0 and "Traceback" not in result.stderr
