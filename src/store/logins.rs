//! Dashboard logins (a name, an Argon2 password hash, the lockout counter) and their
//! sessions. The role of a login is kept with every other role, under the
//! `dashboard` chat identity of its name, so revoking it works the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{decode, encode, get_json, Result, Store, RECORD_VERSION};

/// A dashboard login as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    pub v: u8,
    pub username: String,
    /// The PHC string of an Argon2id hash: algorithm, parameters, salt and hash.
    pub password_hash: String,
    /// Failed attempts since the last success.
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A logged-in browser. Stored under a hash of its cookie, so a copy of the store
/// cannot be used to log in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub v: u8,
    pub username: String,
    /// The token every form of this session must carry back.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub fn put_login(&self, login: &Login) -> Result<()> {
        self.username_login
            .insert(login.username.as_bytes(), encode(login)?)?;
        Ok(())
    }

    /// Changes a login atomically: `change` sees the login as stored and says what to
    /// store instead, and is run again if another writer got there first. Returns what
    /// `change` returned for the login that was stored, or `None` for an unknown name.
    ///
    /// Parallel login attempts count their failures through this, so none of them
    /// overwrites another's count.
    pub fn update_login<T>(
        &self,
        username: &str,
        mut change: impl FnMut(&mut Login) -> T,
    ) -> Result<Option<T>> {
        let key = username.as_bytes();
        loop {
            let Some(old_bytes) = self.username_login.get(key)? else {
                return Ok(None);
            };
            let mut login: Login = decode("username_login", &old_bytes)?;
            let result = change(&mut login);
            let new_bytes = encode(&login)?;
            let swapped =
                self.username_login
                    .compare_and_swap(key, Some(&old_bytes), Some(new_bytes))?;
            if swapped.is_ok() {
                return Ok(Some(result));
            }
        }
    }

    pub fn login(&self, username: &str) -> Result<Option<Login>> {
        get_json(&self.username_login, "username_login", username.as_bytes())
    }

    pub fn logins(&self) -> Result<Vec<Login>> {
        self.username_login
            .iter()
            .map(|entry| crate::store::decode("username_login", &entry?.1))
            .collect()
    }

    pub fn put_session(&self, token_hash: &[u8], session: &Session) -> Result<()> {
        self.sessionhash_session
            .insert(token_hash, encode(session)?)?;
        Ok(())
    }

    pub fn session(&self, token_hash: &[u8]) -> Result<Option<Session>> {
        get_json(&self.sessionhash_session, "sessionhash_session", token_hash)
    }

    pub fn remove_session(&self, token_hash: &[u8]) -> Result<()> {
        self.sessionhash_session.remove(token_hash)?;
        Ok(())
    }

    /// Forgets expired sessions.
    pub fn prune_sessions(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n_removed = 0;
        for entry in self.sessionhash_session.iter() {
            let (key, value) = entry?;
            let expired = serde_json::from_slice::<Session>(&value)
                .map_or(true, |session| session.expires_at < now);
            if expired {
                self.sessionhash_session.remove(key)?;
                n_removed += 1;
            }
        }
        Ok(n_removed)
    }
}

/// The version new records are written with.
pub const LOGIN_RECORD_VERSION: u8 = RECORD_VERSION;
