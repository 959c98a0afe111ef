//! The client workflow's single entry point, `Updater::handle`, fed arbitrary
//! responses: typed errors, no panics, and no endless loop.
//!
//! The input is split at 0xff bytes (never in UTF-8 JSON) into one response per
//! request; an empty piece answers "not found".
#![no_main]

use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tuf::updater::{Limits, Response, Updater};
use tuf::editor::new_root;
use tuf::metadata::Expires;
use tuf::{Metadata, PrivateKey};

/// Upper bound on requests in one run: roots, three roles, and a few delegations.
const MAX_STEPS: usize = 64;

fn trusted_root() -> &'static [u8] {
    static ROOT: OnceLock<Vec<u8>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let key = PrivateKey::ed25519_from_seed(&[7; 32]).unwrap();
        let expires = Expires(chrono::Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap());
        let mut root = new_root(expires, true);
        for role in ["root", "targets", "snapshot", "timestamp"] {
            root.add_key(role, key.public()).unwrap();
        }
        let mut rng = rand_core::OsRng;
        Metadata::sign_new(root, &[&key], &mut rng)
            .unwrap()
            .bytes()
            .to_vec()
    })
}

fuzz_target!(|data: &[u8]| {
    let now = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let mut u = Updater::new(trusted_root(), now, Limits::default()).unwrap();
    let mut pieces = data.split(|b| *b == 0xff);
    for _ in 0..MAX_STEPS {
        let Ok(Some(_req)) = u.next_request() else {
            break;
        };
        let response = match pieces.next() {
            Some(p) if !p.is_empty() => Response::Bytes(p.to_vec().into()),
            _ => Response::NotFound,
        };
        if u.handle(response).is_err() {
            break;
        }
    }
    if u.is_ready() {
        let _ = u.start_lookup("a/b.txt");
    }
});
