"""Live pictures/s of `ganpage serve --live emoji64` with micro-batching on and off, at 1, 8 and
64 concurrent clients, beside `ganpage generate`'s pictures/s at batch 32 (the ceiling), in one
run; then three times the sustainable load, open loop: the excess must get fast 503s.

Goal (issue 20): at 64 clients >= 80% of the ceiling and >= 1.8x the pictures/s without
micro-batching, p99 < 1 s; at 3x the sustainable load only fast 503s (no time-outs). Every
request asks for a new recipe (a random 32-bit seed of a random category), so nothing comes
from the cache. The client is asyncio + aiohttp in this process. With two or more CPUs it is
pinned to the first and the server (and the ceiling's `generate`) to the others, torch using
all of those, so client and model do not fight over a core (`--no-pin`: all share all CPUs).
Usage: python benchmarks/live.py [--seconds 5] [--rounds 3] [--model emoji64] [--device cpu]
       [--no-pin] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.gallery import Gallery  # noqa: E402
from ganpage.generate import TruncationRange, encode, generate, plan  # noqa: E402
from ganpage.models import load_generator  # noqa: E402
from helpers.servers import free_port, wait_for_http  # noqa: E402

CLIENTS = (1, 8, 64)
CEILING_BATCH = 32
CLIENT_TIMEOUT = 10.0  # seconds; a request slower than this counts as a time-out


def cpu_split(pin: bool) -> tuple[set[int], set[int]]:
    """(the client's CPUs, the server's CPUs): the first CPU and the rest, where there are 2+."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not pin:
        return set(cpus), set(cpus)
    return {cpus[0]}, set(cpus[1:])


class Ceiling:
    """The model on the server's CPUs in this process: ``generate``'s pictures/s at batch 32
    (pictures written to a gallery, fsync included) and the model alone (sample + WebP
    encoding, what the server does per picture: the stricter ceiling)."""

    def __init__(self, model: str, device: str, cpus: set[int]):
        self.cpus = cpus
        with self.pinned():
            self.generator = load_generator(model, device)

    @contextlib.contextmanager
    def pinned(self):
        previous = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.cpus)
        torch.set_num_threads(len(self.cpus))
        try:
            yield
        finally:
            os.sched_setaffinity(0, previous)

    def model_alone(self, seconds: float) -> float:
        rng = random.Random(3)
        count = len(self.generator.categories)
        made, started = 0, time.perf_counter()
        with self.pinned():
            while time.perf_counter() - started < seconds:
                labels = [rng.randrange(count) for _ in range(CEILING_BATCH)]
                seeds = [rng.getrandbits(32) for _ in range(CEILING_BATCH)]
                for pixels in self.generator.sample(labels, seeds, 0.7):
                    encode(pixels, "webp")
                made += CEILING_BATCH
        return made / (time.perf_counter() - started)

    def generate(self, pictures: int = 256) -> float:
        categories = list(self.generator.categories)[:pictures]
        jobs = plan(self.generator, categories, -(-pictures // len(categories)),
                    TruncationRange(0.7, 0.7))[:pictures]
        with (self.pinned(), tempfile.TemporaryDirectory() as folder,
              Gallery.open(Path(folder) / "gallery", create=True) as gallery):
            started = time.perf_counter()
            made = generate(self.generator, gallery, jobs, batch_size=CEILING_BATCH,
                            show_progress=False)
            return made / (time.perf_counter() - started)


def start_server(model: str, device: str, batch: int, cpus: set[int], port: int):
    pin = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if shutil.which("taskset") else []
    process = subprocess.Popen(
        [*pin, sys.executable, "-m", "ganpage", "serve", "--live", model, "--live-device", device,
         "--live-batch", str(batch), "--live-rate", "0", "--live-pool", "0", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base + "/healthz", process, timeout=120)
    deadline = time.monotonic() + 120
    while subprocess.run(["curl", "-sf", base + "/readyz"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise TimeoutError("the live model did not load")
        time.sleep(0.2)
    return process, base


def recipe_url(base: str, slugs: list[str], rng: random.Random) -> str:
    return (f"{base}/draw/image.webp?category={rng.choice(slugs)}"
            f"&seed={rng.getrandbits(32)}&truncation=0.7000")


async def fetch(session: aiohttp.ClientSession, url: str, results: list) -> None:
    started = time.perf_counter()
    try:
        async with session.get(url) as answer:
            await answer.read()
            results.append((answer.status, time.perf_counter() - started))
    except (TimeoutError, aiohttp.ClientError):
        results.append((0, time.perf_counter() - started))  # 0: a time-out or a broken link


async def closed_loop(base: str, slugs: list[str], clients: int, seconds: float) -> list:
    """``clients`` clients, each asking for the next picture as soon as it has the last."""
    results: list = []
    rng = random.Random()  # new recipes on every run: the cache must not answer
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=timeout) as session:
        end = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < end:
                await fetch(session, recipe_url(base, slugs, rng), results)

        await asyncio.gather(*(client() for _ in range(clients)))
    return results


async def open_loop(base: str, slugs: list[str], rate: float, seconds: float) -> tuple:
    """Requests sent at ``rate`` per second whatever the answers (as visitors arrive)."""
    results: list = []
    rng = random.Random()
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=timeout) as session:
        tasks = []
        started = time.perf_counter()
        while (now := time.perf_counter()) - started < seconds:
            due = started + len(tasks) / rate
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(fetch(session, recipe_url(base, slugs, rng),
                                                   results)))
        sent_for = time.perf_counter() - started
        await asyncio.gather(*tasks)
    return results, len(tasks) / sent_for


def summary(results: list, seconds: float) -> dict:
    ok = sorted(t for status, t in results if status == 200)
    refused = sorted(t for status, t in results if status == 503)
    return {"pictures_per_s": len(ok) / seconds, "requests": len(results),
            "ok": len(ok), "refused_503": len(refused),
            "other": sum(1 for status, _ in results if status not in (200, 503)),
            "p50_ms": 1000 * percentile(ok, 0.50), "p99_ms": 1000 * percentile(ok, 0.99),
            "p99_503_ms": 1000 * percentile(refused, 0.99)}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(share * len(values)))]


def measure(base: str, slugs: list[str], clients: int, seconds: float) -> dict:
    return summary(asyncio.run(closed_loop(base, slugs, clients, seconds)), seconds)


def overload(base: str, slugs: list[str], sustainable: float, seconds: float) -> dict:
    results, sent = asyncio.run(open_loop(base, slugs, 3 * sustainable, seconds))
    return {**summary(results, seconds), "sent_per_s": sent}


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="emoji64")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32, help="--live-batch with batching on")
    parser.add_argument("--no-pin", action="store_true", help="client and server share CPUs")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a kill still stops the servers
    client_cpus, server_cpus = cpu_split(not args.no_pin)
    os.sched_setaffinity(0, client_cpus)
    ceiling = Ceiling(args.model, args.device, server_cpus)
    slugs = [c.slug for c in ceiling.generator.categories]
    print(f"client on CPUs {sorted(client_cpus)}, server on {sorted(server_cpus)}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    servers = {"on": start_server(args.model, args.device, args.batch, server_cpus, free_port()),
               "off": start_server(args.model, args.device, 1, server_cpus, free_port())}
    rounds: list[dict] = []
    try:
        for base in (base for _, base in servers.values()):
            measure(base, slugs, 8, 1.0)  # warm-up
        generate_rate = ceiling.generate()
        for number in range(args.rounds):  # interleaved: the machine's load drifts
            row = {"ceiling": ceiling.model_alone(args.seconds)}
            for mode, (_, base) in servers.items():
                for clients in CLIENTS:
                    row[f"{mode}_{clients}"] = measure(base, slugs, clients, args.seconds)
            rounds.append({"ceiling": row["ceiling"],
                           **{f"{key}_{field}": value[field] for key, value in row.items()
                              if key != "ceiling" for field in ("pictures_per_s", "p99_ms",
                                                                "other")}})
            print(f"round {number + 1}: " + json.dumps({k: round(v, 1)
                                                        for k, v in rounds[-1].items()}),
                  flush=True)
        sustainable = median_of(rounds, "on_64_pictures_per_s")
        overloaded = overload(servers["on"][1], slugs, sustainable, args.seconds)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    report(args, rounds, generate_rate, overloaded)


def report(args, rounds: list[dict], generate_rate: float, overloaded: dict) -> None:
    top = median_of(rounds, "ceiling")
    figures = {f"{mode}_{clients}": {
        "pictures_per_s": median_of(rounds, f"{mode}_{clients}_pictures_per_s"),
        "p99_ms": median_of(rounds, f"{mode}_{clients}_p99_ms"),
        "errors": sum(r[f"{mode}_{clients}_other"] for r in rounds)}
        for mode in ("on", "off") for clients in CLIENTS}
    share = statistics.median(r["on_64_pictures_per_s"] / r["ceiling"] for r in rounds)
    share_of_generate = figures["on_64"]["pictures_per_s"] / generate_rate
    gain = statistics.median(r["on_64_pictures_per_s"] / r["off_64_pictures_per_s"]
                             for r in rounds)
    print(f"\nceiling: the model alone (sample + WebP) at batch {CEILING_BATCH}: {top:.0f} "
          f"pictures/s; ganpage generate at batch {CEILING_BATCH}: {generate_rate:.0f}")
    print("| clients | micro-batching on: pictures/s, p99 | off: pictures/s, p99 |")
    print("|---|---|---|")
    for clients in CLIENTS:
        on, off = figures[f"on_{clients}"], figures[f"off_{clients}"]
        print(f"| {clients} | {on['pictures_per_s']:.0f}, {on['p99_ms']:.0f} ms | "
              f"{off['pictures_per_s']:.0f}, {off['p99_ms']:.0f} ms |")
    print(f"at 64 clients: {share_of_generate:.0%} of ganpage generate's pictures/s (goal "
          f"80%), {share:.0%} of the model alone, {gain:.2f}x without "
          f"micro-batching (goal 1.8x), p99 {figures['on_64']['p99_ms']:.0f} ms (goal < 1000); "
          f"medians of {len(rounds)} rounds")
    print(f"3x load ({overloaded['sent_per_s']:.0f} requests/s for {args.seconds:.0f} s): "
          f"{overloaded['ok']} pictures (p99 {overloaded['p99_ms']:.0f} ms), "
          f"{overloaded['refused_503']} 503s (p99 {overloaded['p99_503_ms']:.1f} ms), "
          f"{overloaded['other']} time-outs or other answers")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "figures": figures,
                                         "ceiling_model_alone": top,
                                         "ceiling_generate": generate_rate,
                                         "share_of_generate_at_64": share_of_generate,
                                         "share_of_model_alone_at_64": share,
                                         "on_over_off_at_64": gain,
                                         "overload": overloaded}, indent=2))


if __name__ == "__main__":
    main()
