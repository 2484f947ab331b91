//! Group chats the bot was added to (a LINE group, a Telegram chat), and the division
//! each is bound to: a bound group receives its division's new cases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Channel;
use crate::store::{decode, encode, get_json, keys, Result, Store, RECORD_VERSION};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub v: u8,
    pub channel: Channel,
    pub id: String,
    pub joined_at: DateTime<Utc>,
    /// Set when the bot left or was removed.
    pub left_at: Option<DateTime<Utc>>,
    /// The division (or `integrity`) whose cases this group receives.
    pub division: Option<String>,
}

impl Group {
    /// Whether this group, still joined, receives `division`'s cases.
    #[must_use]
    pub fn receives(&self, division: &str) -> bool {
        self.left_at.is_none() && self.division.as_deref() == Some(division)
    }
}

impl Store {
    /// Remembers that the bot joined a group (again).
    pub fn group_joined(&self, channel: Channel, id: &str, at: DateTime<Utc>) -> Result<()> {
        let chat_key = keys::chat(&crate::domain::ChatKey::new(channel, id));
        let mut group = self.group(channel, id)?.unwrap_or(Group {
            v: RECORD_VERSION,
            channel,
            id: id.to_owned(),
            joined_at: at,
            left_at: None,
            division: None,
        });
        group.joined_at = at;
        group.left_at = None;
        self.channel_group.insert(chat_key, encode(&group)?)?;
        Ok(())
    }

    /// Remembers that the bot left a group; it is no longer a destination.
    pub fn group_left(&self, channel: Channel, id: &str, at: DateTime<Utc>) -> Result<()> {
        if let Some(mut group) = self.group(channel, id)? {
            group.left_at = Some(at);
            let chat_key = keys::chat(&crate::domain::ChatKey::new(channel, id));
            self.channel_group.insert(chat_key, encode(&group)?)?;
        }
        Ok(())
    }

    /// A group got a new id (a Telegram group that became a supergroup): the record,
    /// with its division, moves to the new id.
    pub fn group_migrated(&self, channel: Channel, old_id: &str, new_id: &str) -> Result<()> {
        let Some(mut group) = self.group(channel, old_id)? else {
            return Ok(());
        };
        group.id = new_id.to_owned();
        let old_key = keys::chat(&crate::domain::ChatKey::new(channel, old_id));
        let new_key = keys::chat(&crate::domain::ChatKey::new(channel, new_id));
        self.channel_group.insert(new_key, encode(&group)?)?;
        self.channel_group.remove(old_key)?;
        Ok(())
    }

    pub fn group(&self, channel: Channel, id: &str) -> Result<Option<Group>> {
        let chat_key = keys::chat(&crate::domain::ChatKey::new(channel, id));
        get_json(&self.channel_group, "channel_group", &chat_key)
    }

    /// Binds a known group to a division (or unbinds it with `None`). Returns false when
    /// the bot never joined that group.
    pub fn bind_group(&self, channel: Channel, id: &str, division: Option<&str>) -> Result<bool> {
        let Some(mut group) = self.group(channel, id)? else {
            return Ok(false);
        };
        group.division = division.map(str::to_owned);
        let chat_key = keys::chat(&crate::domain::ChatKey::new(channel, id));
        self.channel_group.insert(chat_key, encode(&group)?)?;
        Ok(true)
    }

    /// Every group the bot knows, joined or left.
    pub fn groups(&self) -> Result<Vec<Group>> {
        self.channel_group
            .iter()
            .map(|entry| decode("channel_group", &entry?.1))
            .collect()
    }

    /// The groups, still joined, that receive `division`'s cases.
    pub fn groups_of(&self, division: &str) -> Result<Vec<Group>> {
        Ok(self
            .groups()?
            .into_iter()
            .filter(|g| g.receives(division))
            .collect())
    }
}
