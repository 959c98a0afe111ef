//! `tuflog key`: the local keystore.

use crate::settings::*;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use tuf::keys::KeyKind;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key in the keystore; prints its key ID.
    Generate {
        /// Key type.
        #[arg(long = "type", value_enum, default_value_t = KeyType::Ed25519)]
        key_type: KeyType,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
    /// List the keystore's keys (no passphrase needed).
    List,
    /// Import a PKCS#8 PEM private key.
    Import {
        /// The PEM file.
        file: PathBuf,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
    /// Export a key as PKCS#8 PEM (unencrypted: handle the output with care).
    Export {
        /// Key ID or a unique prefix of at least 8 characters.
        keyid: String,
        /// Write here (mode 0600) instead of stdout.
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyType {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    Rsa,
}

pub fn key(args: &ClientArgs, command: KeyCommand) -> anyhow::Result<()> {
    let ks = keystore(args)?;
    match command {
        KeyCommand::Generate { key_type, secret } => {
            let kind = match key_type {
                KeyType::Ed25519 => KeyKind::Ed25519,
                KeyType::EcdsaP256 => KeyKind::EcdsaP256,
                KeyType::EcdsaP384 => KeyKind::EcdsaP384,
                KeyType::Rsa => KeyKind::RsaPss,
            };
            let pass = passphrase(&secret, true)?;
            let key = ks.generate(kind, &pass)?;
            match args.output {
                Output::Json => print_json(&key)?,
                Output::Human => say(&key.keyid),
            }
        }
        KeyCommand::List => {
            let keys = ks.list()?;
            match args.output {
                Output::Json => print_json(&keys)?,
                Output::Human => {
                    for k in keys {
                        say(format!(
                            "{}  {} {}",
                            k.keyid, k.public.keytype, k.public.scheme
                        ));
                    }
                }
            }
        }
        KeyCommand::Import { file, secret } => {
            let pem = read_limited(&file, client::keystore::MAX_KEY_FILE_BYTES)?;
            let pass = passphrase(&secret, true)?;
            let key = ks.import_pem(&pem, &pass)?;
            match args.output {
                Output::Json => print_json(&key)?,
                Output::Human => say(&key.keyid),
            }
        }
        KeyCommand::Export { keyid, out, secret } => {
            let pass = passphrase(&secret, false)?;
            let pem = ks.export_pem(&keyid, &pass)?;
            match out {
                Some(path) => edge::durable::write_atomic_private(&path, pem.as_bytes())?,
                None => {
                    #[allow(clippy::print_stdout)]
                    {
                        print!("{}", &*pem);
                    }
                }
            }
        }
    }
    Ok(())
}
