//! A private CA and the two certificates a first deployment needs: the signer's
//! (a TLS server certificate for its names) and the server's (a TLS client
//! certificate). The CA's key signs both and is then dropped, never written: to add
//! a party, issue everything again. Real deployments bring their own PKI.

use crate::Error;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// A certificate and its private key, PEM.
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key. No `Debug` on the holder; written with mode 0600.
    pub key_pem: zeroize::Zeroizing<String>,
}

/// A CA able to issue certificates while it is held in memory.
pub struct Ca {
    /// The CA certificate, PEM: what each side trusts.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn tls(e: rcgen::Error) -> Error {
    Error::Tls(e.to_string())
}

impl Ca {
    /// A new CA named `name`, valid from now for `days`.
    pub fn new(name: &str, days: i64) -> Result<Ca, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = OffsetDateTime::now_utc() - Duration::minutes(5);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(days);
        let key = KeyPair::generate().map_err(tls)?;
        let cert = params.self_signed(&key).map_err(tls)?;
        Ok(Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A certificate for `names` (DNS names or IP addresses), as a TLS server
    /// (`client == false`) or client, valid from `not_before` to `not_after`.
    pub fn issue(
        &self,
        names: &[String],
        client: bool,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Issued, Error> {
        let mut params = CertificateParams::new(names.to_vec()).map_err(tls)?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().map_err(tls)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(tls)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
        })
    }

    /// Valid from five minutes ago (clock skew) for `days`.
    pub fn issue_for_days(
        &self,
        names: &[String],
        client: bool,
        days: i64,
    ) -> Result<Issued, Error> {
        let now = OffsetDateTime::now_utc();
        self.issue(
            names,
            client,
            now - Duration::minutes(5),
            now + Duration::days(days),
        )
    }
}

/// Writes `ca.pem`, `signer.pem`, `signer.key`, `server.pem` and `server.key` into
/// `dir` (keys with mode 0600), for a signer reachable as `signer_names`. Refuses
/// to overwrite any of them.
pub fn write_first_deployment(dir: &Path, signer_names: &[String], days: i64) -> Result<(), Error> {
    let files = [
        "ca.pem",
        "signer.pem",
        "signer.key",
        "server.pem",
        "server.key",
    ];
    if let Some(f) = files.iter().find(|f| dir.join(f).exists()) {
        return Err(Error::Tls(format!(
            "{} exists; refusing to replace certificates",
            dir.join(f).display()
        )));
    }
    if signer_names.is_empty() {
        return Err(Error::Tls("the signer needs at least one name".into()));
    }
    std::fs::create_dir_all(dir)?;
    let ca = Ca::new("tuflog private CA", days)?;
    let signer = ca.issue_for_days(signer_names, false, days)?;
    let server = ca.issue_for_days(&["tuflog-server".to_string()], true, days)?;
    let write = |name: &str, bytes: &[u8], private: bool| -> Result<(), Error> {
        let path = dir.join(name);
        let result = if private {
            edge::durable::write_atomic_private(&path, bytes)
        } else {
            edge::durable::write_atomic(&path, bytes)
        };
        result.map_err(|e| Error::Tls(e.to_string()))
    };
    write("ca.pem", ca.cert_pem.as_bytes(), false)?;
    write("signer.pem", signer.cert_pem.as_bytes(), false)?;
    write("signer.key", signer.key_pem.as_bytes(), true)?;
    write("server.pem", server.cert_pem.as_bytes(), false)?;
    write("server.key", server.key_pem.as_bytes(), true)?;
    Ok(())
}
