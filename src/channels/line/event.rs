//! The compact record of a LINE event that the inbound queue keeps: what the adapter
//! reads of it, taken from the webhook's JSON once, at the gate, and stored as a version
//! byte and postcard. The worker reads it back without touching JSON again.

use serde::{Deserialize, Serialize};

use crate::channels::line::wire;

/// Version of `Event`'s encoding.
const VERSION: u8 = 1;

/// A LINE event as the adapter needs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// LINE's event type: message, postback, follow, unfollow, join, leave, …
    pub kind: String,
    pub timestamp_ms: Option<i64>,
    pub user_id: Option<String>,
    /// The group or room, for an event in one.
    pub group_id: Option<String>,
    pub reply_token: Option<String>,
    pub message: Option<Message>,
    /// A postback's data.
    pub postback: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: String,
    pub id: Option<String>,
    pub text: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub title: Option<String>,
    /// The bot was mentioned (in a group).
    pub mentions_bot: bool,
}

impl From<wire::Event> for Event {
    fn from(event: wire::Event) -> Self {
        let source = event.source;
        Self {
            kind: event.kind,
            timestamp_ms: event.timestamp,
            user_id: source.as_ref().and_then(|s| s.user_id.clone()),
            group_id: source.and_then(|s| s.group_id.or(s.room_id)),
            reply_token: event.reply_token,
            message: event.message.map(|message| Message {
                mentions_bot: message
                    .mention
                    .as_ref()
                    .is_some_and(|m| m.mentionees.iter().any(|who| who.is_self)),
                kind: message.kind,
                id: message.id,
                text: message.text,
                latitude: message.latitude,
                longitude: message.longitude,
                address: message.address,
                title: message.title,
            }),
            postback: event.postback.map(|p| p.data),
        }
    }
}

impl Event {
    /// The chat the event belongs to: its group or room, else its user.
    #[must_use]
    pub fn chat(&self) -> &str {
        self.group_id
            .as_deref()
            .or(self.user_id.as_deref())
            .unwrap_or_default()
    }

    /// Whether it is something a person sent in a private chat (a message, a tap): only
    /// those count against their limit.
    #[must_use]
    pub fn counted(&self) -> bool {
        self.group_id.is_none()
            && self.user_id.is_some()
            && matches!(self.kind.as_str(), "message" | "postback")
    }

    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        // Strings, options and numbers: postcard cannot fail on them.
        postcard::to_extend(self, vec![VERSION]).unwrap_or_default()
    }

    /// Reads a record back; a payload of the JSON era (the platform's own event JSON)
    /// is read as such.
    pub fn decode(payload: &[u8]) -> anyhow::Result<Self> {
        match payload.split_first() {
            Some((&VERSION, rest)) => Ok(postcard::from_bytes(rest)?),
            Some((b'{', _)) => Ok(serde_json::from_slice::<wire::Event>(payload)?.into()),
            _ => anyhow::bail!("not a LINE event record"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Event {
        serde_json::from_str::<wire::Event>(json).unwrap().into()
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let event = read(
            r#"{"type":"message","timestamp":1700000000000,"replyToken":"rt","source":{"type":"group","groupId":"C9","userId":"U1"},"message":{"type":"location","id":"7","latitude":14.5,"longitude":100.25,"address":"หมู่ 3","mention":{"mentionees":[{"index":0,"length":4,"isSelf":true}]}}}"#,
        );
        assert_eq!(event.chat(), "C9");
        assert!(event.message.as_ref().unwrap().mentions_bot);
        assert_eq!(Event::decode(&event.encode()).unwrap(), event);
    }

    #[test]
    fn a_queued_event_of_the_json_era_still_reads() {
        let json = r#"{"type":"postback","source":{"type":"user","userId":"U1"},"postback":{"data":"menu"}}"#;
        let event = Event::decode(json.as_bytes()).unwrap();
        assert_eq!(event.postback.as_deref(), Some("menu"));
        assert_eq!(event.chat(), "U1");
    }

    #[test]
    fn only_what_a_person_sends_in_a_private_chat_counts_against_their_limit() {
        let message = read(
            r#"{"type":"message","source":{"type":"user","userId":"U1"},"message":{"type":"text","id":"1","text":"hi"}}"#,
        );
        assert_eq!((message.chat(), message.counted()), ("U1", true));
        let tap = read(
            r#"{"type":"postback","source":{"type":"user","userId":"U1"},"postback":{"data":"menu"}}"#,
        );
        assert!(tap.counted());
        let unfollow = read(r#"{"type":"unfollow","source":{"type":"user","userId":"U1"}}"#);
        assert!(!unfollow.counted());
        let group = read(
            r#"{"type":"message","source":{"type":"group","groupId":"C9","userId":"U1"},"message":{"type":"text","id":"2","text":"hi"}}"#,
        );
        assert_eq!((group.chat(), group.counted()), ("C9", false));
    }
}
