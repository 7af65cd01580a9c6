import time

from rich.progress import Progress

from ganpage.progress import CountColumn, LogProgress, RemainingColumn, seconds_left


def test_seconds_left_is_the_work_left_at_the_current_rate():
    assert seconds_left(total=100, completed=40, rate=2.0) == (30.0, False)


def test_a_nearer_time_limit_ends_the_job_first():
    # 100,000 kimg at 0.02 kimg/s is 58 days; --minutes 10 ends it in 10 minutes
    assert seconds_left(100_000, 0, 0.02, deadline=1_600.0, now=1_000.0) == (600.0, True)
    # a farther limit changes nothing, and a passed one leaves nothing
    assert seconds_left(10, 0, 1.0, deadline=1_600.0, now=1_000.0) == (10.0, False)
    assert seconds_left(100, 0, 1.0, deadline=900.0, now=1_000.0) == (0.0, True)


def test_no_rate_yet_means_no_estimate_unless_a_limit_gives_one():
    assert seconds_left(10, 0, 0.0) == (float("inf"), False)
    assert seconds_left(10, 0, 0.0, deadline=1_060.0, now=1_000.0) == (60.0, True)


def test_log_lines_give_the_time_limit_as_the_eta(capsys):
    with LogProgress(interval=0.0) as bar:
        task = bar.add_task("training", total=100_000, unit="kimg",
                            deadline=time.monotonic() + 600)
        bar.tasks[task].started -= 50  # 50 s in, 1 kimg done: 0.02 kimg/s
        bar.update(task, completed=1.0)
    line = capsys.readouterr().err.splitlines()[0]
    assert line.startswith("training: 1.0/100,000.0 kimg, 0.02 kimg/s, ETA ")
    minutes = float(line.split("ETA ")[1].split(" min")[0])
    assert 9.9 <= minutes <= 10.0 and "(time limit)" in line


def test_log_lines_without_a_limit_keep_the_work_eta(capsys):
    with LogProgress(interval=0.0) as bar:
        task = bar.add_task("generate", total=100, unit="img")
        bar.tasks[task].started -= 10
        bar.update(task, completed=50)  # 5 img/s: 10 s left
    line = capsys.readouterr().err.splitlines()[0]
    assert "5.00 img/s, ETA 0.2 min" in line and "limit" not in line


def test_the_terminal_bar_shows_the_limit_when_it_comes_first():
    progress = Progress()
    task_id = progress.add_task("training", total=100_000, deadline=time.monotonic() + 90)
    task = progress.tasks[task_id]
    task.finished_speed = 0.02  # kimg/s: 58 days of work
    text = RemainingColumn().render(task).plain
    assert text.endswith("(limit)") and text.startswith("0:01:")
    far = progress.add_task("generate", total=100, deadline=time.monotonic() + 10_000)
    progress.tasks[far].finished_speed = 10.0  # 10 s of work, limit in 2.8 h
    assert "limit" not in RemainingColumn().render(progress.tasks[far]).plain
    starting = progress.add_task("training", total=10, deadline=time.monotonic() + 90)
    # no speed yet: the limit is still known
    assert RemainingColumn().render(progress.tasks[starting]).plain.endswith("(limit)")


def test_counted_things_are_whole_numbers_and_kimg_keeps_its_decimals(capsys):
    """`ganpage data emoji` printed "1.0/8,544.0 img"; training's kimg is a fraction."""
    with LogProgress(interval=0.0) as bar:
        emoji = bar.add_task("emoji", total=8544, unit="img", stats="")
        bar.advance(emoji)
        training = bar.add_task("training", total=2000, completed=1250.5, unit="kimg")
        bar.update(training, advance=0.25)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("emoji: 1/8,544 img, ")
    assert lines[1].startswith("training: 1,250.8/2,000.0 kimg, ")
    progress = Progress()
    progress.add_task("emoji", total=8544, completed=64.0, unit="img")
    progress.add_task("training", total=2000, completed=1.5, unit="kimg")
    assert [CountColumn().render(task).plain for task in progress.tasks] == [
        "64/8,544 img", "1.5/2,000.0 kimg"]


def test_a_job_with_nothing_to_do_says_so(capsys):
    """A re-run that finds everything done printed "0.0/0.0 img, 0.00 img/s, ETA -"."""
    with LogProgress(interval=0.0) as bar:
        bar.add_task("scoring", total=0, unit="img", stats="")
    assert capsys.readouterr().err.splitlines() == ["scoring: nothing to do"]
    progress = Progress()
    progress.add_task("scoring", total=0, unit="img")
    assert CountColumn().render(progress.tasks[0]).plain == "nothing to do"


def test_a_short_job_prints_its_line_once(capsys):
    """A job whose one update finished it printed the same "8/8 img" line twice: once on the
    update, once on closing."""
    with LogProgress(interval=10.0) as bar:
        job = bar.add_task("generate", total=8, unit="img", stats="")
        bar.advance(job, 8)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("generate: 8/8 img, ")


def test_the_closing_line_says_where_a_job_ended(capsys):
    """Updates between printed lines still end with a line at the final count."""
    with LogProgress(interval=3600.0) as bar:
        job = bar.add_task("generate", total=8, unit="img", stats="")
        bar.advance(job, 2)  # printed: the first line
        bar.advance(job, 3)  # within the interval: not printed
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["generate: 2/8 img", "generate: 5/8 img"]
