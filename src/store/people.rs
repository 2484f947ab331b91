//! People who use several channels: one-time link codes, and the chat identities linked
//! into one person, who then follows their cases from any of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ChatKey, Linked};
use crate::store::chat_changes::{again_on_conflict, Joining};
use crate::store::{
    decode, encode, get_json, keys, ChatChange, LinkRedemption, Result, Store, RECORD_VERSION,
};

#[derive(Serialize, Deserialize)]
pub(super) struct LinkCode {
    v: u8,
    chat: ChatKey,
    expires_at: DateTime<Utc>,
}

impl LinkCode {
    pub(super) fn new(chat: &ChatKey, expires_at: DateTime<Utc>) -> Self {
        Self {
            v: RECORD_VERSION,
            chat: chat.clone(),
            expires_at,
        }
    }
}

impl Store {
    /// Keeps a fresh one-time code that links whoever sends it to `chat`.
    pub fn issue_link_code(
        &self,
        chat: &ChatKey,
        code: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.linkcode_chatkey
            .insert(code.as_bytes(), encode(&LinkCode::new(chat, expires_at))?)?;
        Ok(())
    }

    /// Links `chat` to the chat that issued `code`; the code is spent either way.
    pub fn redeem_link_code(
        &self,
        chat: &ChatKey,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Linked> {
        again_on_conflict(|| {
            let redemption = self.plan_link_redemption(chat, code, now)?;
            let linked = redemption.linked();
            self.apply_chat_change(chat, &ChatChange::RedeemLinkCode(redemption))?;
            Ok(linked)
        })
    }

    /// What redeeming `code` from `chat` will do, read now, to be made in a turn's
    /// transaction (`ChatChange::RedeemLinkCode`). The code is spent either way.
    pub fn plan_link_redemption(
        &self,
        chat: &ChatKey,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkRedemption> {
        let spent = self.linkcode_chatkey.get(code.as_bytes())?;
        let record: Option<LinkCode> = spent
            .as_ref()
            .map(|bytes| decode("linkcode_chatkey", bytes))
            .transpose()?;
        let mut redemption = LinkRedemption {
            code: code.to_owned(),
            spent: spent.map(|bytes| bytes.to_vec()),
            linked: Linked::BadCode,
            joining: None,
        };
        let Some(record) = record.filter(|record| record.expires_at >= now) else {
            return Ok(redemption);
        };
        if record.chat == *chat {
            redemption.linked = Linked::SameChat;
            return Ok(redemption);
        }
        redemption.linked = Linked::Done;
        redemption.joining = Some(Joining {
            first_key: keys::chat(&record.chat),
            second_key: keys::chat(chat),
            members: self
                .identities(&record.chat)?
                .into_iter()
                .chain(self.identities(chat)?)
                .map(|chat| keys::chat(&chat))
                .collect(),
            new_person: self.db.generate_id()?,
        });
        Ok(redemption)
    }

    /// Every chat identity of the person behind `chat`, itself included.
    pub fn identities(&self, chat: &ChatKey) -> Result<Vec<ChatKey>> {
        let person: Option<u64> =
            get_json(&self.chatkey_person, "chatkey_person", &keys::chat(chat))?;
        let Some(person) = person else {
            return Ok(vec![chat.clone()]);
        };
        let mut identities = Vec::new();
        for key in self.person_chatkey.scan_prefix(person.to_be_bytes()).keys() {
            // A key that does not read back is not a chat identity: skip it.
            if let Some(identity) = keys::parse_chat(&key?[8..]) {
                identities.push(identity);
            }
        }
        Ok(identities)
    }

    /// Builds the index of each person's chats (`person_chatkey`) of a store written
    /// before it existed, when finding a person's chats read every linked chat.
    pub(super) fn index_people_chats(&self) -> Result<()> {
        const INDEXED: &[u8] = b"people_chats_indexed";
        if self.meta.get(INDEXED)?.is_some() {
            return Ok(());
        }
        for entry in self.chatkey_person.iter() {
            let (chat_key, person) = entry?;
            let person: u64 = decode("chatkey_person", &person)?;
            self.person_chatkey
                .insert(keys::person_chat(person, &chat_key), &[])?;
        }
        self.meta.insert(INDEXED, &[1])?;
        Ok(())
    }
}
