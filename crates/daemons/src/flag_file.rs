//! A TOML file for the daemons configured by flags (`tuflog witness`, `tuflog
//! monitor`, `tuflog signer serve`), so that every process of a deployment is
//! configured the same way: each key is a flag's long name with `_` for `-`
//! (`data_dir`, `witness_url`), its value what the flag takes (a string, number or
//! boolean; an array for a flag that repeats). The file's values become the flags'
//! defaults, so `TUFLOG_*` variables and the command line override them, as for
//! the server. A key that names no flag is an error: a typo never falls back to a
//! default silently.

use anyhow::{bail, Context};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Largest configuration file read.
pub const MAX_FLAG_FILE_BYTES: u64 = 1 << 20;

/// The flag that names the file; never itself a key in it.
const CONFIG: &str = "config";

/// Parses the process's arguments into `T` as clap would, after taking the
/// defaults of `subcommand`'s flags (of the top-level flags when `None`) from the
/// file that `--config FILE` or the environment variable `env` names, if any.
/// Exits with clap's message on bad arguments, as `Parser::parse` does.
pub fn parse<T: clap::Parser>(subcommand: Option<&str>, env: &str) -> anyhow::Result<T> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut command = T::command();
    let named = named_file(&args, subcommand).or_else(|| std::env::var_os(env).map(PathBuf::from));
    if let Some(path) = named {
        command = match subcommand {
            Some(name) => {
                let sub = command
                    .find_subcommand(name)
                    .cloned()
                    .with_context(|| format!("no subcommand {name}"))?;
                let sub = apply(sub, &path)?;
                command.mut_subcommand(name, |_| sub)
            }
            None => apply(command, &path)?,
        };
    }
    let matches = command.get_matches_from(args);
    T::from_arg_matches(&matches).map_err(|e| e.exit())
}

/// The path given by `--config FILE` or `--config=FILE`, after `subcommand`
/// when there is one.
fn named_file(args: &[OsString], subcommand: Option<&str>) -> Option<PathBuf> {
    let start = match subcommand {
        Some(name) => args.iter().position(|a| a == name)? + 1,
        None => 1,
    };
    let mut rest = args.get(start..)?.iter();
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        if arg == "--" {
            return None;
        }
        if arg == "--config" {
            return rest.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// `command` with the defaults of its flags taken from the TOML file at `path`.
pub fn apply(command: clap::Command, path: &Path) -> anyhow::Result<clap::Command> {
    let bytes = edge::durable::read_bounded(path, MAX_FLAG_FILE_BYTES)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("the configuration file {} is not UTF-8", path.display()))?;
    apply_text(command, text).with_context(|| format!("configuration file {}", path.display()))
}

/// [`apply`] on the file's text.
pub fn apply_text(mut command: clap::Command, text: &str) -> anyhow::Result<clap::Command> {
    let table: toml::Table = toml::from_str(text)?;
    for (key, value) in table {
        let flag = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.as_str()) && a.get_id() != CONFIG)
            .filter(|a| a.get_action().takes_values())
            .map(|a| a.get_id().clone());
        let Some(id) = arg else {
            let known: Vec<String> = command
                .get_arguments()
                .filter(|a| a.get_action().takes_values() && a.get_id() != CONFIG)
                .filter_map(|a| a.get_long().map(|l| l.replace('-', "_")))
                .collect();
            bail!("unknown key {key:?}; the keys are {}", known.join(", "));
        };
        let values = match value {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| scalar(&key, v))
                .collect::<anyhow::Result<Vec<String>>>()?,
            other => vec![scalar(&key, other)?],
        };
        command = command.mut_arg(id, |arg| {
            // Given by the file, so no longer required of the command line.
            arg.required(false).default_values(values)
        });
    }
    Ok(command)
}

/// A value as the command line would give it.
fn scalar(key: &str, value: toml::Value) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Float(f) => f.to_string(),
        other => bail!("{key}: a {} where a flag's value goes", other.type_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser, Debug)]
    struct Flags {
        #[arg(long, env = "FLAG_FILE_TEST_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, env = "FLAG_FILE_TEST_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        #[arg(long = "log", required = true, value_delimiter = ',')]
        logs: Vec<String>,
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        #[arg(long)]
        threshold: Option<usize>,
        #[arg(long)]
        verbose: bool,
    }

    fn parse(file: &str, args: &[&str]) -> anyhow::Result<Flags> {
        let command = apply_text(Flags::command(), file)?;
        let matches = command.try_get_matches_from(args)?;
        Ok(Flags::from_arg_matches(&matches)?)
    }

    #[test]
    fn the_file_sets_defaults_and_the_command_line_overrides_them() {
        let file = r#"
            data_dir = "/var/lib/x"
            log = ["a", "b"]
            interval = "1m"
            threshold = 2
        "#;
        let flags = parse(file, &["x"]).unwrap();
        assert_eq!(flags.data_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(flags.logs, ["a", "b"]);
        assert_eq!(flags.interval, std::time::Duration::from_secs(60));
        assert_eq!(flags.threshold, Some(2));
        let flags = parse(file, &["x", "--data-dir", "here", "--log", "c"]).unwrap();
        assert_eq!(flags.data_dir, PathBuf::from("here"));
        assert_eq!(flags.logs, ["c"]);
        // Without the file, a required flag is still required.
        assert!(parse("", &["x"]).is_err());
    }

    #[test]
    fn a_bad_key_or_value_is_refused_by_name() {
        let typo = parse("data_dri = \"x\"\nlog = \"a\"", &["x"]).unwrap_err();
        assert!(typo.to_string().contains("data_dri"), "{typo}");
        assert!(typo.to_string().contains("data_dir"), "{typo}");
        // A flag that takes no value, and the file naming itself.
        assert!(parse("verbose = true\nlog = \"a\"", &["x"]).is_err());
        assert!(parse("config = \"other.toml\"\nlog = \"a\"", &["x"]).is_err());
        let table = parse("log = \"a\"\n[data_dir]\nx = 1", &["x"]).unwrap_err();
        assert!(table.to_string().contains("data_dir"), "{table}");
        // Values are checked by the flag's own parser.
        assert!(parse("log = \"a\"\ninterval = \"soon\"", &["x"]).is_err());
        assert!(parse("log = \"a\"\nthreshold = -1", &["x"]).is_err());
    }

    #[test]
    fn the_file_is_found_after_its_subcommand_or_in_the_environment() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            named_file(&args(&["x", "serve", "--config", "a.toml"]), Some("serve")),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            named_file(&args(&["x", "--config=b.toml"]), None),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            named_file(&args(&["x", "init", "--config", "a.toml"]), Some("serve")),
            None
        );
        assert_eq!(named_file(&args(&["x", "--", "--config", "c"]), None), None);
    }
}
