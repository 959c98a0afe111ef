"""A static file server for a TUF repository laid out on disk by python-tuf.

  static_server.py PORT DIR [REQUEST_LOG]

With REQUEST_LOG, the raw path of every request is appended to that file, one per
line, before it is answered.

Like `python -m http.server`, except that metadata paths are not percent-decoded:
python-tuf names a delegated role's file after the percent-encoded role name
(`1.role1%2Fnested.json`), and clients request exactly that name, so the URL path is
the file name. Target paths are decoded as usual.
"""

import http.server
import os
import sys
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    request_log = None

    def send_head(self):
        if self.request_log:
            with open(self.request_log, "a", encoding="utf-8") as log:
                log.write(self.path + "\n")
        return super().send_head()

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "metadata":
            rel = parts
        else:
            rel = [urllib.parse.unquote(p) for p in parts]
        if any(p in (".", "..") for p in rel):
            return os.path.join(self.directory, "does-not-exist")
        return os.path.join(self.directory, *rel)

    def log_message(self, *args):
        pass


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    Handler.request_log = sys.argv[3] if len(sys.argv) > 3 else None
    handler = lambda *a, **k: Handler(*a, directory=directory, **k)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
