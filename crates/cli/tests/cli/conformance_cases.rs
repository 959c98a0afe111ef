//! The cases where a TUF client most often disagrees with the specification, run
//! through `tuflog-conformance` as the TUF conformance suite runs a client: a
//! repository on disk behind an HTTP server that records every request, and the
//! client's metadata directory read back after each run.

use crate::conformance::{conformance, python, StaticServer};
use crate::tuf_harness::{
    delegating_everything_to, delegating_to_a_role_snapshot_omits, shared_by_two_delegators,
    snapshot_signed_twice_by_one_key, Repo, NAMES_THAT_NEED_QUOTING,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A repository served over HTTP and a client directory initialised with its first
/// root.
struct Served {
    dir: tempfile::TempDir,
    server: StaticServer,
}

impl Served {
    fn new(repo: &Repo) -> Served {
        let dir = tempfile::tempdir().unwrap();
        for d in ["repo/metadata", "repo/targets", "metadata", "targets"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let served = Served {
            server: StaticServer::start_logging(
                &python(),
                &dir.path().join("repo"),
                Some(&dir.path().join("requests.log")),
            ),
            dir,
        };
        served.publish(repo);
        let root = served.dir.path().join("initial_root.json");
        std::fs::write(&root, &repo.initial_root).unwrap();
        let init = conformance(&[
            "--metadata-dir".as_ref(),
            served.metadata_dir().as_os_str(),
            "init".as_ref(),
            root.as_os_str(),
        ]);
        assert!(init.status.success(), "{}", stderr(&init));
        served
    }

    /// Writes every file `repo` serves, under the names a client asks for.
    fn publish(&self, repo: &Repo) {
        let base = self.dir.path().join("repo");
        for (path, bytes) in &repo.files {
            std::fs::write(base.join("metadata").join(path), bytes).unwrap();
        }
        let consistent = repo.root.signed().consistent_snapshot == Some(true);
        for (path, contents) in &repo.target_files {
            let (_, hashes) = tuf::editor::describe(contents);
            let name = match (consistent, path.rsplit_once('/')) {
                (false, _) => path.clone(),
                (true, Some((d, f))) => format!("{d}/{}.{f}", hashes.get("sha256").unwrap()),
                (true, None) => format!("{}.{path}", hashes.get("sha256").unwrap()),
            };
            let file = base.join("targets").join(name);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, contents).unwrap();
        }
    }

    fn metadata_dir(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    fn run(&self, extra: &[&str], command: &str) -> Output {
        let mut args: Vec<OsString> = vec![
            "--metadata-dir".into(),
            self.metadata_dir().into(),
            "--metadata-url".into(),
            format!("{}/metadata", self.server.url).into(),
        ];
        args.extend(extra.iter().map(OsString::from));
        args.push(command.into());
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        conformance(&refs)
    }

    fn refresh(&self) -> Output {
        self.run(&[], "refresh")
    }

    fn download(&self, targets: &[&str]) -> Output {
        let target_url = format!("{}/targets", self.server.url);
        let target_dir = self.dir.path().join("targets");
        let mut extra = vec![
            "--target-base-url",
            target_url.as_str(),
            "--target-dir",
            target_dir.to_str().unwrap(),
        ];
        for t in targets {
            extra.extend(["--target-name", t]);
        }
        self.run(&extra, "download")
    }

    /// The metadata paths requested so far (without `/metadata/`), then forgotten.
    fn take_requests(&self) -> Vec<String> {
        let log = self.dir.path().join("requests.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines()
            .filter_map(|l| l.strip_prefix("/metadata/"))
            .map(str::to_string)
            .collect()
    }

    /// The trusted metadata files, by name, as the suite counts them.
    fn trusted_files(&self) -> Vec<String> {
        files_under(&self.metadata_dir())
            .into_iter()
            .filter(|f| f.ends_with(".json"))
            .collect()
    }

    fn downloaded(&self, name: &str) -> Option<Vec<u8>> {
        let file = self
            .dir
            .path()
            .join("targets")
            .join(tuf::updater::local_file_name(name).unwrap());
        std::fs::read(file).ok()
    }
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if e.file_type().unwrap().is_dir() {
            out.extend(
                files_under(&e.path())
                    .into_iter()
                    .map(|f| format!("{name}/{f}")),
            );
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_timestamp_changed_without_a_version_bump_is_kept_out_by_the_conformance_client() {
    let mut repo = Repo::new(true);
    repo.add_target_file("a", b"a");
    let served = Served::new(&repo);
    let first = served.refresh();
    assert!(first.status.success(), "{}", stderr(&first));
    let trusted_timestamp = std::fs::read(served.metadata_dir().join("timestamp.json")).unwrap();
    served.take_requests();

    repo.serve_timestamp_changed_in_place(100);
    served.publish(&repo);

    let again = served.refresh();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        served.take_requests(),
        ["2.root.json", "timestamp.json"],
        "the timestamp is the last request: snapshot v100 is not asked for"
    );
    assert_eq!(
        std::fs::read(served.metadata_dir().join("timestamp.json")).unwrap(),
        trusted_timestamp,
        "the new timestamp is not persisted"
    );
}

#[test]
fn a_snapshot_naming_one_keyid_twice_is_refused_by_the_conformance_client() {
    let (repo, _) = snapshot_signed_twice_by_one_key();
    let served = Served::new(&repo);
    let refresh = served.refresh();
    assert_eq!(refresh.status.code(), Some(1));
    assert!(
        stderr(&refresh).contains("signs more than once"),
        "{}",
        stderr(&refresh)
    );
    assert!(!served.metadata_dir().join("snapshot.json").exists());
    assert_eq!(
        served.take_requests(),
        ["2.root.json", "timestamp.json", "1.snapshot.json"]
    );
}

#[test]
fn role_names_that_need_quoting_are_requested_quoted_and_stored_safely() {
    for (role, quoted) in NAMES_THAT_NEED_QUOTING {
        let repo = delegating_everything_to(role);
        let served = Served::new(&repo);
        let download = served.download(&["nonexistent target"]);
        assert_eq!(download.status.code(), Some(1), "{role}");
        let requests = served.take_requests();
        assert_eq!(
            requests.last().unwrap(),
            &format!("1.{quoted}.json"),
            "{role}: {requests:?}"
        );
        // Five trusted roles, each a file directly in the metadata directory and
        // nothing written outside it.
        let trusted = served.trusted_files();
        assert_eq!(trusted.len(), 5, "{role}: {trusted:?}");
        assert!(trusted.iter().all(|f| !f.contains('/')), "{trusted:?}");
        assert_eq!(
            files_under(served.dir.path())
                .into_iter()
                .filter(|f| !f.starts_with("repo/") && !f.starts_with("metadata/"))
                .collect::<Vec<_>>(),
            ["initial_root.json".to_string()],
            "{role}"
        );
    }
}

#[test]
fn a_delegated_role_missing_from_snapshot_is_never_requested_by_the_conformance_client() {
    let repo = delegating_to_a_role_snapshot_omits();
    let served = Served::new(&repo);
    let download = served.download(&["pkg/x"]);
    assert_eq!(download.status.code(), Some(1));
    assert!(
        stderr(&download).contains("does not list team.json"),
        "{}",
        stderr(&download)
    );
    let requests = served.take_requests();
    assert!(requests.iter().all(|r| !r.contains("team")), "{requests:?}");
}

#[test]
fn a_role_reached_through_a_second_delegator_is_verified_against_its_keys() {
    // Signed only with A's key for it: found through A, then refused through B in
    // the same run.
    let served = Served::new(&shared_by_two_delegators(false));
    let download = served.download(&["a/file", "b/file"]);
    assert_eq!(download.status.code(), Some(1));
    assert!(
        stderr(&download).contains("shared v1: 0 valid signature(s)"),
        "{}",
        stderr(&download)
    );
    assert_eq!(served.downloaded("a/file").as_deref(), Some(&b"a"[..]));
    assert_eq!(served.downloaded("b/file"), None);

    // Signed with both: each found through its own delegator, `shared` fetched once.
    let served = Served::new(&shared_by_two_delegators(true));
    let download = served.download(&["a/file", "b/file"]);
    assert!(download.status.success(), "{}", stderr(&download));
    assert_eq!(served.downloaded("b/file").as_deref(), Some(&b"b"[..]));
    let requests = served.take_requests();
    assert_eq!(
        requests.iter().filter(|r| r.contains("shared")).count(),
        1,
        "{requests:?}"
    );
}
