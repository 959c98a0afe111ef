"""python-tuf as a peer for tuflog's interop tests.

  pytuf.py write SCENARIO OUT        write a repository with python-tuf's Metadata API
  pytuf.py client REPO TARGET...     run python-tuf's ngclient against a repository on
                                     disk (REPO/metadata, REPO/targets), download and
                                     verify each TARGET; exit 0 only if all verify

Repositories are laid out as a TUF server serves them: REPO/metadata holds
N.root.json for every root version, timestamp.json, and the other roles (versioned
when consistent snapshots are on); REPO/targets holds target files (hash-prefixed
when consistent).
"""

import hashlib
import os
import sys
from datetime import datetime, timezone
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

EXPIRES = datetime(2036, 1, 1, tzinfo=timezone.utc)


def signer(kind):
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "p256":
        return CryptoSigner.generate_ecdsa()
    if kind == "p384":
        priv = ec.generate_private_key(ec.SECP384R1())
        pub = SSlibKey.from_crypto(priv.public_key(), scheme="ecdsa-sha2-nistp384")
        return CryptoSigner(priv, pub)
    if kind == "rsa":
        return CryptoSigner.generate_rsa()
    raise ValueError(kind)


class Repo:
    def __init__(self, out, consistent, kinds=("ed25519", "ed25519", "ed25519", "ed25519")):
        self.out = out
        self.meta_dir = os.path.join(out, "metadata")
        self.target_dir = os.path.join(out, "targets")
        os.makedirs(self.meta_dir, exist_ok=True)
        os.makedirs(self.target_dir, exist_ok=True)
        self.signers = {}
        root = Root(expires=EXPIRES, consistent_snapshot=consistent)
        for role, kind in zip(["root", "targets", "snapshot", "timestamp"], kinds):
            s = signer(kind)
            self.signers[role] = [s]
            root.add_key(s.public_key, role)
        self.root = Metadata(root)
        self.targets = {"targets": Metadata(Targets(expires=EXPIRES))}
        self.snapshot = Metadata(Snapshot(expires=EXPIRES))
        self.timestamp = Metadata(Timestamp(expires=EXPIRES))
        self.consistent = consistent

    def write_file(self, name, md):
        md.to_file(os.path.join(self.meta_dir, name), JSONSerializer(compact=False))

    def sign(self, md, signers):
        md.signatures.clear()
        for s in signers:
            md.sign(s, append=True)

    def write_root(self, extra_signers=()):
        self.sign(self.root, list(self.signers["root"]) + list(extra_signers))
        self.write_file(f"{self.root.signed.version}.root.json", self.root)

    def add_target(self, role, path, data):
        md = self.targets[role]
        md.signed.targets[path] = TargetFile.from_data(path, data, ["sha256"])
        name = path
        if self.consistent:
            h = hashlib.sha256(data).hexdigest()
            d, _, base = path.rpartition("/")
            name = f"{d}/{h}.{base}" if d else f"{h}.{base}"
        full = os.path.join(self.target_dir, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    def publish(self, role_signers):
        for role, md in self.targets.items():
            self.sign(md, role_signers[role])
            data = md.to_bytes(JSONSerializer(compact=False))
            name = f"{quote(role, '')}.json"
            if self.consistent:
                name = f"{md.signed.version}.{name}"
            with open(os.path.join(self.meta_dir, name), "wb") as f:
                f.write(data)
            self.snapshot.signed.meta[f"{role}.json"] = MetaFile(
                version=md.signed.version,
                length=len(data),
                hashes={"sha256": hashlib.sha256(data).hexdigest()},
            )
        self.sign(self.snapshot, self.signers["snapshot"])
        snap = self.snapshot.to_bytes(JSONSerializer(compact=False))
        name = f"{self.snapshot.signed.version}.snapshot.json" if self.consistent else "snapshot.json"
        with open(os.path.join(self.meta_dir, name), "wb") as f:
            f.write(snap)
        self.timestamp.signed.snapshot_meta = MetaFile(
            version=self.snapshot.signed.version,
            length=len(snap),
            hashes={"sha256": hashlib.sha256(snap).hexdigest()},
        )
        self.sign(self.timestamp, self.signers["timestamp"])
        self.write_file("timestamp.json", self.timestamp)


def scenario_all_key_types(out):
    # A different key type for each top-level role, and a root threshold of 3 over
    # keys of four types.
    repo = Repo(out, consistent=False, kinds=("ed25519", "p256", "rsa", "p384"))
    for kind in ("p256", "p384", "rsa"):
        s = signer(kind)
        repo.signers["root"].append(s)
        repo.root.signed.add_key(s.public_key, "root")
    repo.root.signed.roles["root"].threshold = 3
    repo.write_root()
    repo.add_target("targets", "file1.txt", b"first file")
    repo.add_target("targets", "dir/file2.txt", b"second file")
    # Canonical JSON NFC-normalises strings (securesystemslib does): U+F900 signs as
    # U+8C48 and "e" + U+0301 as "é", while the file keeps the original code points.
    tricky = "unicode/\uf900-e\u0301.txt"
    repo.add_target("targets", tricky, b"normalised when signed")
    repo.targets["targets"].signed.unrecognized_fields["x-control"] = "tab\tand\x01"
    repo.publish({"targets": repo.signers["targets"]})
    return ["file1.txt", "dir/file2.txt", tricky]


def scenario_delegations(out):
    repo = Repo(out, consistent=True, kinds=("ed25519", "p256", "ed25519", "ed25519"))
    repo.write_root()
    d1, d2, nested, up = signer("ed25519"), signer("p256"), signer("p384"), signer("ed25519")
    top = repo.targets["targets"].signed
    top.delegations = Delegations(keys={}, roles={})
    top.delegations.keys[d1.public_key.keyid] = d1.public_key
    top.delegations.keys[d2.public_key.keyid] = d2.public_key
    top.delegations.keys[up.public_key.keyid] = up.public_key
    top.delegations.roles["role1"] = DelegatedRole(
        "role1", [d1.public_key.keyid], 1, False, paths=["dir/*", "dir/nested/*"]
    )
    prefix = hashlib.sha256(b"hashed/c.txt").hexdigest()[:2]
    top.delegations.roles["role2"] = DelegatedRole(
        "role2", [d2.public_key.keyid], 1, True, path_hash_prefixes=[prefix]
    )
    # A role name that is a relative path: its file must stay in the metadata
    # directory, on the repository (quoted, "..%2Fx") and on every client.
    top.delegations.roles["../x"] = DelegatedRole(
        "../x", [up.public_key.keyid], 1, False, paths=["up/*"]
    )
    role1 = Targets(expires=EXPIRES)
    role1.delegations = Delegations(
        keys={nested.public_key.keyid: nested.public_key},
        roles={
            "role1/nested": DelegatedRole(
                "role1/nested", [nested.public_key.keyid], 1, False, paths=["dir/nested/*"]
            )
        },
    )
    repo.targets["role1"] = Metadata(role1)
    repo.targets["role2"] = Metadata(Targets(expires=EXPIRES))
    repo.targets["role1/nested"] = Metadata(Targets(expires=EXPIRES))
    repo.targets["../x"] = Metadata(Targets(expires=EXPIRES))
    repo.add_target("targets", "top.txt", b"top")
    repo.add_target("../x", "up/x.txt", b"from ../x")
    repo.add_target("role1", "dir/a.txt", b"from role1")
    repo.add_target("role2", "hashed/c.txt", b"from role2")
    repo.add_target("role1/nested", "dir/nested/b.txt", b"from nested")
    repo.publish(
        {
            "targets": repo.signers["targets"],
            "role1": [d1],
            "role2": [d2],
            "role1/nested": [nested],
            "../x": [up],
        }
    )
    return ["top.txt", "dir/a.txt", "hashed/c.txt", "dir/nested/b.txt", "up/x.txt"]


def scenario_hash_bins(out):
    repo = Repo(out, consistent=True)
    repo.write_root()
    bins = signer("ed25519")
    top = repo.targets["targets"].signed
    succinct = SuccinctRoles([bins.public_key.keyid], 1, 3, "bins")
    top.delegations = Delegations(
        keys={bins.public_key.keyid: bins.public_key}, succinct_roles=succinct
    )
    for name in succinct.get_roles():
        repo.targets[name] = Metadata(Targets(expires=EXPIRES))
    paths = [f"pkg/{i}.tar.gz" for i in range(12)]
    for p in paths:
        repo.add_target(succinct.get_role_for_target(p), p, p.encode())
    signers = {name: [bins] for name in repo.targets}
    signers["targets"] = repo.signers["targets"]
    repo.publish(signers)
    return paths


def scenario_root_rotations(out):
    repo = Repo(out, consistent=True)
    repo.write_root()
    for i in range(4):
        old = repo.signers["root"]
        new = [signer("ed25519"), signer("p256"), signer("ed25519")]
        for s in old:
            repo.root.signed.revoke_key(s.public_key.keyid, "root")
        for s in new:
            repo.root.signed.add_key(s.public_key, "root")
        repo.root.signed.roles["root"].threshold = 2
        repo.root.signed.version += 1
        repo.signers["root"] = new
        # TUF 5.3.4: signed by the old root's threshold and the new one's.
        repo.write_root(extra_signers=old)
    # Rotate the timestamp key too.
    ts = signer("ed25519")
    repo.root.signed.revoke_key(repo.signers["timestamp"][0].public_key.keyid, "timestamp")
    repo.root.signed.add_key(ts.public_key, "timestamp")
    repo.signers["timestamp"] = [ts]
    repo.root.signed.version += 1
    repo.write_root()
    repo.add_target("targets", "after-rotation.txt", b"rotated")
    repo.publish({"targets": repo.signers["targets"]})
    return ["after-rotation.txt"]


SCENARIOS = {
    "all-key-types": scenario_all_key_types,
    "delegations": scenario_delegations,
    "hash-bins": scenario_hash_bins,
    "root-rotations": scenario_root_rotations,
}


def client(repo, targets):
    from tuf.ngclient import Updater
    from tuf.ngclient.fetcher import FetcherInterface
    from tuf.api.exceptions import DownloadHTTPError

    class DirFetcher(FetcherInterface):
        def _fetch(self, url):
            # Role names arrive percent-encoded ("role1%2Fnested"): files are named so.
            path = url[len("file://"):]
            if not os.path.exists(path):
                raise DownloadHTTPError(f"not found: {path}", 404)
            with open(path, "rb") as f:
                return iter([f.read()])

    meta = os.path.join(repo, "metadata")
    work = os.path.join(repo, "pyclient")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(meta, "1.root.json"), "rb") as f:
        bootstrap = f.read()
    updater = Updater(
        metadata_dir=work,
        metadata_base_url="file://" + meta + "/",
        target_dir=os.path.join(repo, "pydownloads"),
        target_base_url="file://" + os.path.join(repo, "targets") + "/",
        fetcher=DirFetcher(),
        bootstrap=bootstrap,
    )
    updater.refresh()
    for t in targets:
        info = updater.get_targetinfo(t)
        if info is None:
            print(f"python-tuf: no target {t}", file=sys.stderr)
            return 1
        updater.download_target(info)
    print("python-tuf: verified", len(targets), "target(s)")
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "write":
        targets = SCENARIOS[sys.argv[2]](sys.argv[3])
        print("\n".join(targets))
        return 0
    if cmd == "client":
        return client(sys.argv[2], sys.argv[3:])
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
