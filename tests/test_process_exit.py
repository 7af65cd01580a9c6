import subprocess
import sys
import textwrap

# A command's last words: an atexit handler, output still in the buffer, a worker thread that a
# normal exit would wait for, then exit_now(3).
SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    from ganpage.process_exit import exit_now
    atexit.register(lambda: print("atexit ran", end=" "))
    print("buffered", end=" ")  # stdout is a pipe: block-buffered, not yet written
    if sys.argv[1] == "thread":
        def finish_late():
            time.sleep(0.3)
            Path(sys.argv[2]).write_text("done")
        threading.Thread(target=finish_late).start()
    exit_now(3)
""")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                          timeout=60)


def test_exit_now_keeps_the_code_the_buffered_output_and_the_atexit_handlers():
    result = run("plain")
    assert result.returncode == 3
    assert result.stdout == "buffered atexit ran "
    assert result.stderr == ""


def test_exit_now_waits_for_a_running_thread_like_a_normal_exit(tmp_path):
    marker = tmp_path / "marker"
    result = run("thread", str(marker))
    assert result.returncode == 3
    assert marker.read_text() == "done"  # os._exit would have killed the thread first
    assert result.stdout == "buffered atexit ran "
