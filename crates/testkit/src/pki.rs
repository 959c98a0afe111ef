//! Certificates for tests: a CA made on the spot, and a server certificate it
//! issued for the names a test connects to.

use std::io;
use std::path::{Path, PathBuf};

/// A CA's certificate, and a server certificate with its key that the CA issued.
pub struct Issued {
    /// The CA certificate, PEM: what a client trusts.
    pub ca_pem: String,
    /// The server's certificate, PEM.
    pub cert_pem: String,
    /// The server's private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// Where [`Issued::write`] put the files.
pub struct Files {
    /// `ca.pem`.
    pub ca: PathBuf,
    /// `server.crt`.
    pub cert: PathBuf,
    /// `server.key`, mode 0600.
    pub key: PathBuf,
}

fn tls(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("test certificate: {e}"))
}

/// A new CA and a server certificate for `names` (DNS names or IP addresses).
pub fn server_certificate(names: &[&str]) -> io::Result<Issued> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    // A name of its own, so two test CAs are never taken for one another.
    let ca_key = KeyPair::generate().map_err(tls)?;
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("tuflog test CA {}", hex_prefix(ca_key.public_key_raw())),
    );
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().map_err(tls)?;
    let cert = CertificateParams::new(names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>())
        .map_err(tls)?
        .signed_by(&key, &issuer)
        .map_err(tls)?;
    Ok(Issued {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

impl Issued {
    /// Writes `ca.pem`, `server.crt` and `server.key` (mode 0600) into `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<Files> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir)?;
        let files = Files {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        };
        std::fs::write(&files.ca, &self.ca_pem)?;
        std::fs::write(&files.cert, &self.cert_pem)?;
        std::fs::write(&files.key, &self.key_pem)?;
        std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))?;
        Ok(files)
    }
}
