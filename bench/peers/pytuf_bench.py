"""python-tuf's client over the same in-memory bytes as tuflog's bench.

  pytuf_bench.py DIR ROUNDS

DIR holds the repository the Rust bench wrote (metadata/N.root.json, timestamp.json,
1.snapshot.json, 1.targets.json, and target.txt naming one target). The operations are
those of python-tuf's ngclient without I/O: TrustedMetadataSet, the part of ngclient
that verifies bytes. Prints one JSON object of median seconds per operation.
"""

import json
import os
import statistics
import sys
import time

from tuf.api.metadata import Metadata
from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
from tuf.ngclient.config import EnvelopeType


def median_seconds(fn, rounds):
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    d, rounds = sys.argv[1], int(sys.argv[2])
    meta = os.path.join(d, "metadata")
    roots = []
    n = 1
    while os.path.exists(os.path.join(meta, f"{n}.root.json")):
        with open(os.path.join(meta, f"{n}.root.json"), "rb") as f:
            roots.append(f.read())
        n += 1
    read = lambda name: open(os.path.join(meta, name), "rb").read()
    ts, snap, targets = read("timestamp.json"), read("1.snapshot.json"), read("1.targets.json")
    target = open(os.path.join(d, "target.txt")).read().strip()

    def root_chain():
        t = TrustedMetadataSet(roots[0], EnvelopeType.METADATA)
        for r in roots[1:]:
            t.update_root(r)
        return t

    def full_update():
        t = root_chain()
        t.update_timestamp(ts)
        t.update_snapshot(snap)
        t.update_targets(targets)
        assert t.targets.targets[target] is not None

    final_root = Metadata.from_bytes(roots[-1])

    def verify_targets():
        md = Metadata.from_bytes(targets)
        final_root.signed.verify_delegate("targets", md.signed_bytes, md.signatures)

    print(json.dumps({
        "verify_targets_10k": median_seconds(verify_targets, rounds),
        "root_chain_10_rotations": median_seconds(root_chain, rounds),
        "full_update": median_seconds(full_update, rounds),
    }))


if __name__ == "__main__":
    main()
