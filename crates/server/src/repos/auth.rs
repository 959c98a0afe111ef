//! Write authorisation: bearer tokens, each scoped to repository-name prefixes.
//! Reads are public.
//!
//! Tokens are kept as SHA-256 digests, so a leaked config file does not leak them,
//! and a presented token is compared by digest in constant time against every
//! configured one, so response timing says nothing about how close a guess was.

use super::name::RepoName;
use crate::Error;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Longest `Authorization` header value read.
pub const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// One token and what it may write.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRule {
    /// A name for logs and error messages (never the token).
    pub name: String,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// Repository-name prefixes, by whole segments (`example.com` covers
    /// `example.com/app`); an empty prefix covers every repository.
    pub prefixes: Vec<String>,
}

impl std::fmt::Debug for TokenRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRule")
            .field("name", &self.name)
            .field("prefixes", &self.prefixes)
            .finish_non_exhaustive()
    }
}

impl TokenRule {
    /// A rule for the token `token`.
    pub fn for_token(name: &str, token: &str, prefixes: Vec<String>) -> Self {
        TokenRule {
            name: name.into(),
            sha256: Sha256::digest(token.as_bytes()).into(),
            prefixes,
        }
    }
}

/// The configured tokens.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    rules: Vec<TokenRule>,
}

impl Tokens {
    /// Tokens from rules.
    pub fn new(rules: Vec<TokenRule>) -> Self {
        Tokens { rules }
    }

    /// True if no token is configured (every write is refused).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks the `Authorization` header of a write to `repo`; returns the token's
    /// name.
    pub fn authorize(&self, authorization: Option<&[u8]>, repo: &RepoName) -> Result<&str, Error> {
        let rule = self.authenticate(authorization)?;
        if rule.prefixes.iter().any(|p| repo.is_under(p)) {
            Ok(&rule.name)
        } else {
            Err(Error::PermissionDenied(format!(
                "token {:?} may write only to repositories under {}; not to {repo}",
                rule.name,
                rule.prefixes
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    /// Checks that the `Authorization` header holds a configured token, whatever
    /// it may write: what can be checked before the request's body is read.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<&TokenRule, Error> {
        let header = authorization.ok_or_else(|| {
            Error::Unauthenticated("writes need an 'Authorization: Bearer <token>' header".into())
        })?;
        if header.len() > MAX_AUTHORIZATION_BYTES {
            return Err(Error::Unauthenticated(format!(
                "the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
            )));
        }
        let token = header
            .strip_prefix(b"Bearer ")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Unauthenticated("the Authorization header must be 'Bearer <token>'".into())
            })?;
        let digest: [u8; 32] = Sha256::digest(token).into();
        let mut found = None;
        // Every rule is compared, matched or not, so the time taken does not depend
        // on which rule (if any) matches.
        for rule in &self.rules {
            if bool::from(rule.sha256.ct_eq(&digest)) {
                found = Some(rule);
            }
        }
        found.ok_or_else(|| {
            Error::Unauthenticated(if self.rules.is_empty() {
                "no write tokens are configured on this server".into()
            } else {
                "the bearer token is not valid".into()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_scoped() {
        let tokens = Tokens::new(vec![
            TokenRule::for_token("ci", "s3cret", vec!["example.com".into()]),
            TokenRule::for_token("admin", "root-token", vec![String::new()]),
        ]);
        let app = RepoName::new("example.com/app").unwrap();
        let other = RepoName::new("other.org/app").unwrap();
        assert_eq!(
            tokens.authorize(Some(b"Bearer s3cret"), &app).unwrap(),
            "ci"
        );
        assert_eq!(
            tokens
                .authorize(Some(b"Bearer root-token"), &other)
                .unwrap(),
            "admin"
        );
        let kind = |r: Result<&str, Error>| r.unwrap_err().kind();
        use crate::ErrorKind::{PermissionDenied, Unauthenticated};
        assert_eq!(
            kind(tokens.authorize(Some(b"Bearer s3cret"), &other)),
            PermissionDenied
        );
        assert_eq!(kind(tokens.authorize(None, &app)), Unauthenticated);
        assert_eq!(
            kind(tokens.authorize(Some(b"Bearer wrong"), &app)),
            Unauthenticated
        );
        assert_eq!(
            kind(tokens.authorize(Some(b"Basic s3cret"), &app)),
            Unauthenticated
        );
        assert_eq!(
            kind(tokens.authorize(Some(b"Bearer "), &app)),
            Unauthenticated
        );
        assert_eq!(
            kind(Tokens::default().authorize(Some(b"Bearer s3cret"), &app)),
            Unauthenticated
        );
    }
}
