"""python-tuf's ngclient against a running tuflog server: the interop peer of
tests/integration/interop.rs.

  pytuf_http_client.py METADATA_URL ROOT_FILE TARGETS_DIR WORK_DIR TARGET...

Refreshes from METADATA_URL (the server's /repos/{repo}/metadata/) starting from
ROOT_FILE, then downloads and verifies each TARGET from TARGETS_DIR on disk (targets
are not the server's to serve). Exit 0 only if every target verifies.
"""

import os
import sys
import urllib.error
import urllib.request

from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface


class Fetcher(FetcherInterface):
    """Metadata over HTTP with the standard library; targets from a directory."""

    def _fetch(self, url):
        if url.startswith("file://"):
            path = url[len("file://"):]
            if not os.path.exists(path):
                raise DownloadHTTPError(f"not found: {path}", 404)
            with open(path, "rb") as f:
                return iter([f.read()])
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return iter([r.read()])
        except urllib.error.HTTPError as e:
            raise DownloadHTTPError(f"{url}: {e}", e.code) from e


def main():
    metadata_url, root_file, targets_dir, work, *targets = sys.argv[1:]
    with open(root_file, "rb") as f:
        bootstrap = f.read()
    os.makedirs(work, exist_ok=True)
    updater = Updater(
        metadata_dir=work,
        metadata_base_url=metadata_url,
        target_dir=os.path.join(work, "downloads"),
        target_base_url="file://" + targets_dir.rstrip("/") + "/",
        fetcher=Fetcher(),
        bootstrap=bootstrap,
    )
    updater.refresh()
    for t in targets:
        info = updater.get_targetinfo(t)
        if info is None:
            print(f"python-tuf: no target {t}", file=sys.stderr)
            return 1
        os.makedirs(os.path.join(work, "downloads"), exist_ok=True)
        updater.download_target(info)
    print("python-tuf: verified", len(targets), "target(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
