//! API tokens and rights.
//!
//! A token is `procc_` and 64 hex digits of randomness. The store keeps only its SHA-256, so
//! a copy of the database does not give access. A request carries the token as
//! `Authorization: Bearer <token>` (API) or in the `procc_token` cookie (dashboard). The token's
//! user must still be a user of the current plan's catalog; their rights are the catalog's.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use procc_plan::{Right, User};
use procc_runtime::{Contact, InstanceRow};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState, ServerEngine};

/// The cookie the dashboard keeps the token in.
pub const COOKIE: &str = "procc_token";

/// Makes a new token for a user and stores its hash; the token is returned once and never
/// stored.
pub fn create_token(engine: &ServerEngine, user: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(format!("no randomness for a token: {e}")))?;
    let token = format!("procc_{}", hex(&bytes));
    engine.put_api_token(&token_hash(&token), user)?;
    Ok(token)
}

/// Revokes a token; whether it was valid.
pub fn revoke_token(engine: &ServerEngine, token: &str) -> Result<bool, ApiError> {
    Ok(engine.revoke_api_token(&token_hash(token))?)
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The user a token belongs to, with their rights.
pub fn authenticate(engine: &ServerEngine, token: &str) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("the API token is unknown or revoked");
    if !token.starts_with("procc_") {
        return Err(invalid());
    }
    let user = engine
        .api_token_user(&token_hash(token))?
        .ok_or_else(invalid)?;
    let plan = engine.current_plan()?;
    let user = plan
        .catalog
        .users
        .iter()
        .find(|u| u.id == user)
        .cloned()
        .ok_or_else(|| {
            ApiError::unauthorized(format!(
                "the token's user `{user}` is no longer a user of the deployed catalog"
            ))
        })?;
    Ok(Principal { user })
}

/// The signed-in user.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, from the deployed catalog.
    pub user: User,
}

impl Principal {
    /// The user id.
    pub fn id(&self) -> &str {
        &self.user.id
    }

    /// Whether the user has a right.
    pub fn has(&self, right: Right) -> bool {
        self.user.rights.contains(&right)
    }

    /// 403 unless the user has the right.
    pub fn require(&self, right: Right) -> Result<(), ApiError> {
        if self.has(right) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "user `{}` lacks the right `{}` ({})",
                self.user.id,
                right_name(right),
                right_words(right)
            )))
        }
    }

    /// Whether the user is the owner, the controller or the starter of an instance (they
    /// see it without the right `see-others`).
    pub fn takes_part(&self, instance: &InstanceRow) -> bool {
        instance.owner == self.user.id
            || matches!(&instance.controller, Some(Contact::User(u)) if *u == self.user.id)
            || matches!(&instance.controller, Some(Contact::Email(e)) if *e == self.user.email)
            || matches!(&instance.started_by, procc_runtime::StartedBy::User { user } if *user == self.user.id)
    }
}

/// The right as written in `procc.toml`.
pub fn right_name(right: Right) -> &'static str {
    match right {
        Right::Start => "start",
        Right::Cancel => "cancel",
        Right::Skip => "skip",
        Right::Design => "design",
        Right::AdjustFollowing => "adjust-following",
        Right::SeeOthers => "see-others",
    }
}

fn right_words(right: Right) -> &'static str {
    match right {
        Right::Start => "start processes",
        Right::Cancel => "cancel processes",
        Right::Skip => "skip process steps",
        Right::Design => "design processes",
        Right::AdjustFollowing => "adjust responsibility also for subsequent steps",
        Right::SeeOthers => "see other users' steps",
    }
}

/// The token of a request: the bearer token, else the dashboard's cookie.
pub(crate) fn request_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        let token = request_token(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "this needs an API token: send `Authorization: Bearer <token>` \
                 (make one with `procc token create USER`)",
            )
        })?;
        state.run(move |engine| authenticate(engine, &token)).await
    }
}
