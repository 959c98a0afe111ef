"""python-tuf's ngclient refreshing from a tuflog server: the peer of `tuflog update`.

  pytuf_refresh.py METADATA_URL ROOT_FILE ROUNDS
  pytuf_refresh.py METADATA_URL ROOT_FILE serve

Each round starts from an empty metadata directory and ROOT_FILE as the bootstrap
root, builds an Updater and times `refresh()` alone (in-process, interpreter already
warm), over loopback HTTP: root, timestamp, snapshot and targets, verified, no log
proofs.

With ROUNDS, runs that many rounds and prints the median and the minimum in
milliseconds as JSON. With `serve`, runs one round for each line read from stdin
and prints its time in milliseconds on a line of its own, until stdin closes: the
bench then alternates these rounds with its own, so both sides are measured in the
same moments of a noisy machine.
"""

import json
import shutil
import statistics
import sys
import tempfile
import time

from tuf.ngclient import Updater


def one_round(url, bootstrap):
    d = tempfile.mkdtemp()
    try:
        u = Updater(
            metadata_dir=d,
            metadata_base_url=url,
            target_base_url=url + "/../targets/",
            bootstrap=bootstrap,
        )
        t0 = time.perf_counter()
        u.refresh()
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(d)


def main():
    url, root, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(root, "rb") as f:
        bootstrap = f.read()
    if rounds == "serve":
        for _ in sys.stdin:
            print(f"{one_round(url, bootstrap) * 1e3:.4f}", flush=True)
        return
    samples = [one_round(url, bootstrap) for _ in range(int(rounds))]
    print(json.dumps({"median_ms": statistics.median(samples) * 1e3, "min_ms": min(samples) * 1e3}))


if __name__ == "__main__":
    main()
