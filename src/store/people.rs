//! People who use several channels: one-time link codes, and the chat identities linked
//! into one person, who then follows their cases from any of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionError;
use sled::Transactional as _;

use crate::domain::{ChatKey, Linked};
use crate::store::{decode, encode, get_json, keys, Error, Result, Store, RECORD_VERSION};

#[derive(Serialize, Deserialize)]
struct LinkCode {
    v: u8,
    chat: ChatKey,
    expires_at: DateTime<Utc>,
}

impl Store {
    /// Keeps a fresh one-time code that links whoever sends it to `chat`.
    pub fn issue_link_code(
        &self,
        chat: &ChatKey,
        code: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let record = LinkCode {
            v: RECORD_VERSION,
            chat: chat.clone(),
            expires_at,
        };
        self.linkcode_chatkey
            .insert(code.as_bytes(), encode(&record)?)?;
        Ok(())
    }

    /// Links `chat` to the chat that issued `code`; the code is spent either way.
    pub fn redeem_link_code(
        &self,
        chat: &ChatKey,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Linked> {
        let Some(bytes) = self.linkcode_chatkey.remove(code.as_bytes())? else {
            return Ok(Linked::BadCode);
        };
        let record: LinkCode = decode("linkcode_chatkey", &bytes)?;
        if record.expires_at < now {
            return Ok(Linked::BadCode);
        }
        if record.chat == *chat {
            return Ok(Linked::SameChat);
        }
        self.link(&record.chat, chat)?;
        Ok(Linked::Done)
    }

    /// Every chat identity of the person behind `chat`, itself included.
    pub fn identities(&self, chat: &ChatKey) -> Result<Vec<ChatKey>> {
        let person: Option<u64> =
            get_json(&self.chatkey_person, "chatkey_person", &keys::chat(chat))?;
        let Some(person) = person else {
            return Ok(vec![chat.clone()]);
        };
        self.chatkey_person
            .iter()
            .filter_map(|entry| {
                let (key, value) = match entry {
                    Ok(pair) => pair,
                    Err(error) => return Some(Err(Error::from(error))),
                };
                let id: u64 = match decode("chatkey_person", &value) {
                    Ok(id) => id,
                    Err(error) => return Some(Err(error)),
                };
                // A key that does not read back is not a chat identity: skip it.
                (id == person)
                    .then(|| keys::parse_chat(&key))
                    .flatten()
                    .map(Ok)
            })
            .collect()
    }

    /// Puts both chats in one person, merging two people if both already were linked.
    fn link(&self, first: &ChatKey, second: &ChatKey) -> Result<()> {
        let first_key = keys::chat(first);
        let second_key = keys::chat(second);
        let new_person = self.db.generate_id()?;
        let members: Vec<Vec<u8>> = self
            .identities(first)?
            .into_iter()
            .chain(self.identities(second)?)
            .map(|chat| keys::chat(&chat))
            .collect();
        (&self.chatkey_person,)
            .transaction(|(people,)| {
                let person = people
                    .get(&first_key)?
                    .or(people.get(&second_key)?)
                    .and_then(|bytes| serde_json::from_slice::<u64>(&bytes).ok())
                    .unwrap_or(new_person);
                let encoded = serde_json::to_vec(&person).expect("a number encodes");
                for member in &members {
                    people.insert(member.as_slice(), encoded.as_slice())?;
                }
                Ok(())
            })
            .map_err(|error: TransactionError<()>| match error {
                TransactionError::Storage(error) => Error::Sled(error),
                TransactionError::Abort(()) => {
                    Error::Sled(sled::Error::Unsupported("aborted".to_owned()))
                }
            })
    }
}
