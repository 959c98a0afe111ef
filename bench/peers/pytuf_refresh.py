"""python-tuf's ngclient refreshing from a tuflog server: the peer of `tuflog update`.

  pytuf_refresh.py METADATA_URL ROOT_FILE ROUNDS

Each round starts from an empty metadata directory and ROOT_FILE as the bootstrap
root, builds an Updater and times `refresh()` alone (in-process, interpreter already warm), over
loopback HTTP: root, timestamp, snapshot and targets, verified, no log proofs.
Prints the median and the minimum in milliseconds as JSON.
"""

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from tuf.ngclient import Updater


def main():
    url, root, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(root, "rb") as f:
        bootstrap = f.read()
    samples = []
    for _ in range(rounds):
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
            samples.append(time.perf_counter() - t0)
        finally:
            shutil.rmtree(d)
    print(json.dumps({"median_ms": statistics.median(samples) * 1e3, "min_ms": min(samples) * 1e3}))


if __name__ == "__main__":
    main()
