//! Ed25519 as every signature count checks it: ed25519-dalek's own `verify_strict`,
//! reached through `tuf::keys::PublicKey::verify`. Signatures are forged here, with
//! curve arithmetic, so that the library call can be shown to refuse what the plain
//! equation would accept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use rand_core::OsRng;
use sha2::Digest as _;
use tuf::keys::PublicKey;

/// A signature over `msg` that satisfies the plain (cofactorless) equation for the
/// key `a·B + key_torsion` with the given R, found by trying message suffixes until the
/// torsion terms cancel; `None` if `r_point` cannot be reached that way.
fn forge_with_r(
    a: curve25519_dalek::Scalar,
    key_torsion: curve25519_dalek::EdwardsPoint,
    r_point: curve25519_dalek::EdwardsPoint,
    r_scalar: curve25519_dalek::Scalar,
) -> Option<(
    ed25519_dalek::VerifyingKey,
    Vec<u8>,
    ed25519_dalek::Signature,
)> {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::Sha512;
    let public = EdwardsPoint::mul_base(&a) + key_torsion;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public.compress().to_bytes()).ok()?;
    let r = r_point.compress().to_bytes();
    (0u32..256).find_map(|n| {
        let msg = format!("message {n}").into_bytes();
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(r)
                .chain_update(public.compress().as_bytes())
                .chain_update(&msg)
                .finalize()
                .into(),
        );
        // [s]B - [k]A = [r_scalar + k·a - k·a]B - [k]T = r_scalar·B - [k]T.
        let recomputed = EdwardsPoint::mul_base(&r_scalar) - k * key_torsion;
        (recomputed.compress().to_bytes() == r).then(|| {
            let s = r_scalar + k * a;
            (
                key,
                msg,
                ed25519_dalek::Signature::from_components(r, s.to_bytes()),
            )
        })
    })
}

fn accepted(key: &ed25519_dalek::VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    PublicKey::Ed25519(*key).verify(msg, sig)
}

/// The strict rules, checked on the library call every Ed25519 check goes
/// through: forgeries that pass the plain (cofactorless, non-strict) equation
/// are refused, honest signatures pass, and no corruption of one does.
#[test]
fn ed25519_is_verified_strictly() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use ed25519_dalek::Verifier as _;
    use rand_core::RngCore;
    let random_scalar = || {
        let mut b = [0u8; 32];
        OsRng.fill_bytes(&mut b);
        Scalar::from_bytes_mod_order(b)
    };

    // R of small order under a mixed-order key: the plain check passes, strict must not.
    let mut forged = 0;
    for torsion in EIGHT_TORSION {
        let Some((key, msg, sig)) =
            forge_with_r(random_scalar(), EIGHT_TORSION[1], torsion, Scalar::ZERO)
        else {
            continue;
        };
        forged += 1;
        assert!(
            key.verify(&msg, &sig).is_ok(),
            "forgery does not pass the plain check"
        );
        assert!(
            !accepted(&key, &msg, &sig.to_bytes()),
            "small-order R accepted"
        );
    }
    assert_eq!(forged, 8, "every torsion point should be reachable as R");

    // A small-order key with an honest-looking R.
    let (key, msg, sig) = forge_with_r(
        Scalar::ZERO,
        EIGHT_TORSION[1],
        EdwardsPoint::mul_base(&Scalar::ONE),
        Scalar::ONE,
    )
    .unwrap();
    assert!(key.verify(&msg, &sig).is_ok());
    assert!(!accepted(&key, &msg, &sig.to_bytes()), "weak key accepted");

    for _ in 0..8 {
        let signer = ed25519_dalek::SigningKey::from_bytes(&random_scalar().to_bytes());
        let key = signer.verifying_key();
        let msg = b"canonical signed bytes";
        let good = ed25519_dalek::Signer::sign(&signer, msg).to_bytes();
        assert!(accepted(&key, msg, &good));
        // A non-canonical S (S + L, still below 2^253) satisfies the equation;
        // strict refuses it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut non_canonical = good;
        let mut carry = 0u16;
        for (i, l) in L.iter().enumerate() {
            let sum = u16::from(good[32 + i]) + u16::from(*l) + carry;
            non_canonical[32 + i] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!accepted(&key, msg, &non_canonical), "S + L accepted");
        for bit in 0..512 {
            let mut bad = good;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(!accepted(&key, msg, &bad), "bit {bit}");
        }
        // Signatures of the wrong length are refused, not misread.
        assert!(!accepted(&key, msg, &good[..63]));
        assert!(!accepted(&key, msg, &[good.as_slice(), &[0]].concat()));
    }
}
