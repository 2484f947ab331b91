//! Key encoding for every tree, in one place. Composite keys join their parts with 0xff,
//! a byte that never occurs in UTF-8, so no part can be mistaken for another.

use crate::domain::ChatKey;

const SEP: u8 = 0xff;

/// ChatKey = Channel + 0xff + UserId
#[must_use]
pub fn chat(chat: &ChatKey) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + chat.user.len());
    key.extend_from_slice(chat.channel.as_str().as_bytes());
    key.push(SEP);
    key.extend_from_slice(chat.user.as_bytes());
    key
}

/// PersonChat = person id (big-endian) + a chat's key (`chat`): each person's chats
/// together, in one prefix.
#[must_use]
pub fn person_chat(person: u64, chat_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + chat_key.len());
    key.extend_from_slice(&person.to_be_bytes());
    key.extend_from_slice(chat_key);
    key
}

/// Reads a ChatKey back from its key.
#[must_use]
pub fn parse_chat(key: &[u8]) -> Option<ChatKey> {
    let at = key.iter().position(|&b| b == SEP)?;
    let channel = std::str::from_utf8(&key[..at]).ok()?;
    let user = std::str::from_utf8(&key[at + 1..]).ok()?;
    let channel = crate::domain::Channel::parse(channel)?;
    Some(ChatKey::new(channel, user))
}

/// EventKey = Channel + 0xff + HMAC-SHA256(installation secret, event id)[..16]
///
/// The event id is hashed because a web chat event id carries the session id: stored in
/// clear, its time would tie a session to the anonymous case filed at that moment.
#[must_use]
pub fn event(secret: &[u8], channel: crate::domain::Channel, event_id: &str) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(event_id.as_bytes());
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(channel.as_str().as_bytes());
    key.push(SEP);
    key.extend_from_slice(&mac.finalize().into_bytes()[..16]);
    key
}

/// ReporterCase = ChatKey + 0xff + CaseId (big-endian, so a reporter's cases sort by age)
#[must_use]
pub fn reporter_case(reporter: &ChatKey, case_id: u64) -> Vec<u8> {
    let mut key = reporter_prefix(reporter);
    key.extend_from_slice(&case_id.to_be_bytes());
    key
}

#[must_use]
pub fn reporter_prefix(reporter: &ChatKey) -> Vec<u8> {
    let mut key = chat(reporter);
    key.push(SEP);
    key
}

/// Ids are big-endian so that trees iterate in id order.
#[must_use]
pub fn id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

#[must_use]
pub fn parse_id(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Due = due time in Unix milliseconds (big-endian) + DeliveryId (big-endian): the
/// dispatcher scans this tree from the start to find what is due.
#[must_use]
pub fn due(due_ms: u64, delivery_id: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&due_ms.to_be_bytes());
    key[8..].copy_from_slice(&delivery_id.to_be_bytes());
    key
}

#[must_use]
pub fn parse_due(key: &[u8]) -> Option<(u64, u64)> {
    let due_ms = parse_id(key.get(..8)?)?;
    let delivery_id = parse_id(key.get(8..16)?)?;
    Some((due_ms, delivery_id))
}

/// Seq = "seq:" + case code prefix + ":" + Buddhist year
#[must_use]
pub fn sequence(prefix: &str, year_be: u32) -> Vec<u8> {
    format!("seq:{prefix}:{year_be}").into_bytes()
}

/// Queued = Channel + 0xff + sequence number (big-endian): each channel's queue in order.
#[must_use]
pub fn queued(channel: crate::domain::Channel, seq: u64) -> Vec<u8> {
    let mut key = queued_prefix(channel);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

#[must_use]
pub fn queued_prefix(channel: crate::domain::Channel) -> Vec<u8> {
    let mut key = channel.as_str().as_bytes().to_vec();
    key.push(SEP);
    key
}
