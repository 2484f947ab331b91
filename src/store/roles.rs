//! Roles of chat identities, and the one-time enrolment codes that grant them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::role::Role;
use crate::domain::ChatKey;
use crate::store::chat_changes::again_on_conflict;
use crate::store::{
    decode, encode, get_json, keys, ChatChange, Enrolment, Result, Store, RECORD_VERSION,
};

#[derive(Serialize, Deserialize)]
struct RoleRecord {
    v: u8,
    #[serde(flatten)]
    role: Role,
    granted_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct EnrolCode {
    v: u8,
    #[serde(flatten)]
    role: Role,
    expires_at: DateTime<Utc>,
}

/// Letters and digits that cannot be mistaken for one another when read aloud or typed.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

impl Store {
    /// The role of a chat identity, or of any identity linked to it; a resident if none.
    pub fn role_of(&self, chat: &ChatKey) -> Result<Role> {
        for identity in self.identities(chat)? {
            let record: Option<RoleRecord> =
                get_json(&self.chatkey_role, "chatkey_role", &keys::chat(&identity))?;
            if let Some(record) = record {
                return Ok(record.role);
            }
        }
        // A group chat bound to a division is that division's staff room: the office
        // decides who is in it. A group bound to the integrity officer gets no role, so
        // corruption complaints are never worked in a group chat.
        if let Some(group) = self.group(chat.channel, &chat.user)? {
            if let Some(division) = group
                .division
                .filter(|d| group.left_at.is_none() && d != crate::config::INTEGRITY_DIVISION)
            {
                return Ok(Role::Staff { division });
            }
        }
        Ok(Role::Resident)
    }

    /// Removes a chat identity's role at once. Returns whether it had one.
    pub fn revoke_role(&self, chat: &ChatKey) -> Result<bool> {
        Ok(self.chatkey_role.remove(keys::chat(chat))?.is_some())
    }

    /// Every chat identity with a role.
    pub fn roles(&self) -> Result<Vec<(ChatKey, Role)>> {
        let mut found = Vec::new();
        for entry in self.chatkey_role.iter() {
            let (key, value) = entry?;
            let record: RoleRecord = decode("chatkey_role", &value)?;
            if let Some(chat) = keys::parse_chat(&key) {
                found.push((chat, record.role));
            }
        }
        Ok(found)
    }

    /// Makes a one-time code that grants `role` to the chat that sends it before
    /// `expires_at`, e.g. `TB-7KQ2-MX4P`.
    pub fn create_enrol_code(&self, role: &Role, expires_at: DateTime<Utc>) -> Result<String> {
        use rand::Rng as _;
        let mut rng = rand::rngs::OsRng;
        let mut pick = || char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]);
        let code = format!(
            "TB-{}-{}",
            (0..4).map(|_| pick()).collect::<String>(),
            (0..4).map(|_| pick()).collect::<String>()
        );
        let record = EnrolCode {
            v: RECORD_VERSION,
            role: role.clone(),
            expires_at,
        };
        self.enrolcode_role
            .insert(code.as_bytes(), encode(&record)?)?;
        Ok(code)
    }

    /// Spends a code: grants its role to `chat` if it exists and has not expired.
    pub fn redeem_enrol_code(
        &self,
        chat: &ChatKey,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Role>> {
        again_on_conflict(|| {
            let enrolment = self.plan_enrolment(code, now)?;
            let role = enrolment.role().cloned();
            self.apply_chat_change(chat, &ChatChange::RedeemEnrolCode(enrolment))?;
            Ok(role)
        })
    }

    /// What spending `code` will grant, read now, to be made in a turn's transaction
    /// (`ChatChange::RedeemEnrolCode`). The code is spent either way.
    pub fn plan_enrolment(&self, code: &str, now: DateTime<Utc>) -> Result<Enrolment> {
        let spent = self.enrolcode_role.get(code.as_bytes())?;
        let record: Option<EnrolCode> = spent
            .as_ref()
            .map(|bytes| decode("enrolcode_role", bytes))
            .transpose()?;
        let granted = match record.filter(|record| record.expires_at >= now) {
            Some(record) => {
                let stored = encode(&RoleRecord {
                    v: RECORD_VERSION,
                    role: record.role.clone(),
                    granted_at: now,
                })?;
                Some((record.role, stored))
            }
            None => None,
        };
        Ok(Enrolment {
            code: code.to_owned(),
            spent: spent.map(|bytes| bytes.to_vec()),
            granted,
        })
    }
}

impl Store {
    /// Grants a role directly (a dashboard login made by an admin at the command line).
    pub fn grant_role(&self, chat: &ChatKey, role: &Role, now: DateTime<Utc>) -> Result<()> {
        let granted = RoleRecord {
            v: RECORD_VERSION,
            role: role.clone(),
            granted_at: now,
        };
        self.chatkey_role
            .insert(keys::chat(chat), encode(&granted)?)?;
        Ok(())
    }
}
