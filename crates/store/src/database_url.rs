//! What a PostgreSQL connection URL asks of the connection, TLS included.
//!
//! The URL is libpq's: `postgres://user@host:port/db?option=value&…`, or the
//! `key=value …` form. tokio-postgres reads everything but two of libpq's TLS
//! options, which are taken out and applied here:
//!
//! - `sslmode`: `disable`, `allow` and `prefer` (the default) connect without TLS;
//!   `require` and `verify-full` connect only over TLS, with the server's
//!   certificate chain **and** host name verified. tuflog never connects over TLS
//!   without verifying, as libpq's `require` does without a root certificate: an
//!   unverified channel protects nothing from whoever sits on the path, and the
//!   database holds the log. `verify-ca` (the chain without the host name) is
//!   refused with a message naming `verify-full`.
//! - `sslrootcert`: a PEM file of the certificates to trust for the database;
//!   without it, the Mozilla root set (`webpki-roots`), as for a managed database
//!   with a public certificate.

use crate::{Error, Result};
use percent_encoding::percent_decode_str;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A URL's connection settings and, when it asks for TLS, the verified connector.
pub(crate) struct Connection {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: Option<MakeRustlsConnect>,
}

/// The TLS options taken out of a URL.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsOptions {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Reads `url`; refuses a TLS request it cannot honour in full.
pub(crate) fn connection(url: &str) -> Result<Connection> {
    let (rest, options) = take_tls_options(url)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| Error::Engine(format!("database URL: {e}")))?;
    let encrypted = match options.sslmode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => false,
        Some("require" | "verify-full") => true,
        Some("verify-ca") => {
            return Err(Error::Engine(
                "database URL: sslmode=verify-ca would leave the database's host name \
                 unchecked; tuflog verifies both: use sslmode=verify-full"
                    .into(),
            ))
        }
        Some(other) => {
            return Err(Error::Engine(format!(
                "database URL: sslmode={other} is none of disable, allow, prefer, require, \
                 verify-full"
            )))
        }
    };
    if !encrypted {
        if options.sslrootcert.is_some() {
            return Err(Error::Engine(
                "database URL: sslrootcert is given but TLS is not asked for: add \
                 sslmode=verify-full"
                    .into(),
            ));
        }
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        return Ok(Connection { config, tls: None });
    }
    config.ssl_mode(tokio_postgres::config::SslMode::Require);
    let roots = match &options.sslrootcert {
        Some(path) => roots_from(path)?,
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Engine(format!("TLS to the database: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Connection {
        config,
        tls: Some(MakeRustlsConnect::new(client)),
    })
}

/// The certificates of the PEM file at `path` (read as every PEM file is,
/// [`edge::pem`]), as trust anchors.
fn roots_from(path: &str) -> Result<rustls::RootCertStore> {
    let unusable = |why: String| Error::Engine(format!("database URL: sslrootcert {path}: {why}"));
    let pem = edge::pem::read(std::path::Path::new(path)).map_err(|e| unusable(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unusable(format!("not PEM certificates: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| unusable(format!("a certificate that cannot be a root: {e}")))?;
    }
    if roots.is_empty() {
        return Err(unusable("no certificate in it".into()));
    }
    Ok(roots)
}

/// Splits `sslmode` and `sslrootcert` off `url`, in either of libpq's forms.
fn take_tls_options(url: &str) -> Result<(String, TlsOptions)> {
    let mut options = TlsOptions::default();
    let mut take = |key: &str, value: String| -> Result<bool> {
        let slot = match key {
            "sslmode" => &mut options.sslmode,
            "sslrootcert" => &mut options.sslrootcert,
            _ => return Ok(false),
        };
        if slot.replace(value).is_some() {
            return Err(Error::Engine(format!("database URL: {key} is given twice")));
        }
        Ok(true)
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_string(), options));
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|e| Error::Engine(format!("database URL: {key}: {e}")))?;
            if !take(key, value.into_owned())? {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, options));
    }
    // key=value form: the two options are taken out (a quoted value unquoted);
    // every other byte, quoted values with their spaces included, is left as it
    // was for tokio-postgres to read.
    let mut rest = String::with_capacity(url.len());
    for (word, taken_from) in words(url) {
        let taken = match word.split_once('=') {
            Some((key, value)) => take(key, unquote(value))?,
            None => false,
        };
        if !taken {
            rest.push_str(taken_from);
        }
    }
    Ok((rest, options))
}

/// A key=value value as libpq reads it: single quotes around it dropped, `\'`
/// and `\\` unescaped.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The whitespace-separated words of a key=value connection string, each with
/// the text it spans plus the whitespace before it. Whitespace inside single
/// quotes (`\'` escapes a quote) belongs to its word.
fn words(text: &str) -> Vec<(&str, &str)> {
    let mut words = Vec::new();
    let (mut start, mut word_start) = (0, None);
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => quoted = !quoted,
            c if c.is_ascii_whitespace() && !quoted => {
                if let Some(w) = word_start.take() {
                    words.push((&text[w..i], &text[start..i]));
                    start = i;
                }
                continue;
            }
            _ => {}
        }
        if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(w) = word_start {
        words.push((&text[w..], &text[start..]));
    }
    words
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn options(url: &str) -> (String, TlsOptions) {
        take_tls_options(url).unwrap()
    }

    #[test]
    fn the_tls_options_are_taken_out_of_either_form_and_the_rest_kept() {
        let (rest, o) = options(
            "postgres://u@db.example:5432/log?application_name=t&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Ftuflog%2Fdb%20ca.pem&connect_timeout=5",
        );
        assert_eq!(
            rest,
            "postgres://u@db.example:5432/log?application_name=t&connect_timeout=5"
        );
        assert_eq!(o.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(o.sslrootcert.as_deref(), Some("/etc/tuflog/db ca.pem"));
        let (rest, o) = options("postgres://u@h/db?sslmode=require");
        assert_eq!(
            (rest.as_str(), o.sslmode.as_deref()),
            ("postgres://u@h/db", Some("require"))
        );
        let (rest, o) = options("host=h user=u sslmode=require sslrootcert=/ca.pem dbname=log");
        assert_eq!(rest, "host=h user=u dbname=log");
        assert_eq!(o.sslrootcert.as_deref(), Some("/ca.pem"));
        let (_, o) = options(r"host=h sslmode=require sslrootcert='/etc/db ca/it\'s.pem'");
        assert_eq!(o.sslrootcert.as_deref(), Some("/etc/db ca/it's.pem"));
        let (rest, o) = options("postgres://u@h/db");
        assert_eq!(
            (rest.as_str(), o),
            ("postgres://u@h/db", TlsOptions::default())
        );
    }

    /// The key=value form was split at every space and joined again with one:
    /// a quoted password with two spaces in a row lost one, and a word inside
    /// quotes that looked like an option was taken out of the password.
    #[test]
    fn regression_a_quoted_value_in_a_key_value_url_lost_spaces_and_words() {
        let (rest, o) =
            options("host=h password='a  b sslmode=disable' sslmode=verify-full\tdbname=log");
        assert_eq!(rest, "host=h password='a  b sslmode=disable'\tdbname=log");
        assert_eq!(o.sslmode.as_deref(), Some("verify-full"));
    }

    #[test]
    fn a_tls_request_that_cannot_be_honoured_in_full_is_refused_by_name() {
        let refused = |url: &str, wanted: &str| match connection(url) {
            Err(e) => assert!(e.to_string().contains(wanted), "{url}: {e}"),
            Ok(_) => panic!("{url} accepted"),
        };
        refused(
            "postgres://u@h/db?sslmode=verify-ca",
            "use sslmode=verify-full",
        );
        refused("postgres://u@h/db?sslmode=always", "is none of");
        refused(
            "postgres://u@h/db?sslrootcert=/ca.pem",
            "add sslmode=verify-full",
        );
        refused(
            "postgres://u@h/db?sslmode=require&sslmode=disable",
            "given twice",
        );
        refused(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert /nonexistent/ca.pem",
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        refused(
            &format!(
                "postgres://u@h/db?sslmode=verify-full&sslrootcert={}",
                not_pem.display()
            ),
            "no certificate in it",
        );
    }

    #[test]
    fn without_tls_asked_for_the_connection_is_plain_and_with_it_verified() {
        for url in [
            "postgres://u@h/db",
            "postgres://u@h/db?sslmode=prefer",
            "host=h sslmode=disable",
        ] {
            let c = connection(url).unwrap();
            assert!(c.tls.is_none(), "{url}");
            assert_eq!(
                c.config.get_ssl_mode(),
                tokio_postgres::config::SslMode::Disable
            );
        }
        for url in [
            "postgres://u@h/db?sslmode=require",
            "host=h sslmode=verify-full",
        ] {
            let c = connection(url).unwrap();
            assert!(c.tls.is_some(), "{url}");
            assert_eq!(
                c.config.get_ssl_mode(),
                tokio_postgres::config::SslMode::Require
            );
        }
    }
}
