//! Subscriptions and updates in chat: a resident chooses a village and topics (or stops
//! at once with "หยุด"); a village head, or staff, writes an update, sees a preview with
//! how many it will reach, and confirms.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::role::Role;
use crate::domain::update::{Topic, Update};
use crate::domain::Location;
use crate::engine::dialogue::{payload, Input, Turn};
use crate::engine::{Action, Card, Choice, Flow, Outbound};

/// Words that end a subscription at once, from anywhere.
pub const STOP_WORDS: &[&str] = &["หยุด", "stop", "/stop", "unsubscribe", "เลิกรับข่าว"];
/// Words that start the subscription flow.
pub const SUBSCRIBE_WORDS: &[&str] = &["รับข่าว", "subscribe", "/subscribe"];
/// Words that start writing an update (village heads and staff).
pub const ANNOUNCE_WORDS: &[&str] = &["ประกาศ", "announce", "/announce"];

/// An update being written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    pub topic: Topic,
    pub villages: Vec<u32>,
    pub step: ComposeStep,
    pub text: Option<String>,
    pub photo: Option<String>,
    pub location: Option<Location>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComposeStep {
    Villages,
    Text,
    Attachment,
    Confirm,
}

/// An update the author confirmed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUpdate {
    pub topic: Topic,
    pub villages: Vec<u32>,
    pub text: String,
    pub photo: Option<String>,
    pub location: Option<Location>,
}

/// The start of today in Bangkok, for the daily limit.
fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&crate::thai::bangkok());
    local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|at| at.and_local_timezone(crate::thai::bangkok()).single())
        .map_or(now, |at| at.with_timezone(&Utc))
}

impl Turn<'_> {
    /// "หยุด": the subscription ends at once.
    pub(super) fn stop_subscription(&mut self) -> anyhow::Result<()> {
        self.conversation.flow = Flow::Idle;
        if self.lookup.subscription(&self.inbound.sender)?.is_some() {
            self.action = Some(Action::Unsubscribe);
            self.say_menu("subscribe-stopped");
        } else {
            self.say_menu("subscribe-none");
        }
        Ok(())
    }

    /// The subscription flow: first the village.
    pub(super) fn start_subscribing(&mut self) -> anyhow::Result<()> {
        if !self.inbound.channel().can_push() {
            self.say_menu("subscribe-needs-chat-app");
            return Ok(());
        }
        let current = self.lookup.subscription(&self.inbound.sender)?;
        let (village, topics) = match current {
            Some(current) => (current.village, current.topics),
            None => (None, Topic::ALL.to_vec()),
        };
        self.conversation.flow = Flow::Subscribing { village, topics };
        let render = self.render();
        let mut choices: Vec<Choice> = self
            .engine
            .settings()
            .villages
            .iter()
            .take(11)
            .map(|v| Choice {
                label: format!("หมู่ {} {}", v.number, v.th),
                payload: format!("sub:v:{}", v.number),
            })
            .collect();
        choices.push(render.choice("subscribe-no-village", "sub:v:0"));
        choices.push(render.choice("button-cancel", payload::CANCEL));
        let text = render.text("subscribe-village-prompt");
        self.replies.push(render.choices(text, choices));
        Ok(())
    }

    pub(super) fn on_subscribing(
        &mut self,
        mut village: Option<u32>,
        mut topics: Vec<Topic>,
        input: Input<'_>,
    ) -> anyhow::Result<()> {
        let chosen_village = match input {
            Input::Button(data) => data.strip_prefix("sub:v:").and_then(|n| n.parse().ok()),
            Input::Text(text) => crate::thai::normalize_digits(text.trim())
                .trim_start_matches("หมู่")
                .trim()
                .parse()
                .ok(),
        };
        if let Some(number) = chosen_village {
            village =
                (number > 0 && self.engine.settings().village(number).is_some()).then_some(number);
        } else if let Input::Button(data) = input {
            if let Some(topic) = data.strip_prefix("sub:t:").and_then(Topic::parse) {
                if let Some(at) = topics.iter().position(|t| *t == topic) {
                    topics.remove(at);
                } else {
                    topics.push(topic);
                }
            } else if data == "sub:done" {
                self.conversation.flow = Flow::Idle;
                if topics.is_empty() {
                    return self.stop_subscription();
                }
                let summary = self.subscription_summary(village, &topics);
                self.action = Some(Action::Subscribe { village, topics });
                let render = self.render();
                let text = render.text_with("subscribe-done", &[("summary", &summary)]);
                self.replies.push(render.menu(&text));
                return Ok(());
            } else {
                self.say("button-expired");
            }
        }
        self.conversation.flow = Flow::Subscribing {
            village,
            topics: topics.clone(),
        };
        self.topics_prompt(village, &topics);
        Ok(())
    }

    fn subscription_summary(&self, village: Option<u32>, topics: &[Topic]) -> String {
        let render = self.render();
        let village = match village.and_then(|n| self.engine.settings().village(n)) {
            Some(v) => format!("หมู่ {} {}", v.number, v.th),
            None => render.text("subscribe-no-village"),
        };
        let topics: Vec<String> = topics
            .iter()
            .map(|t| render.text(&format!("topic-{}", t.as_str())))
            .collect();
        format!("{village}: {}", topics.join(", "))
    }

    fn topics_prompt(&mut self, village: Option<u32>, topics: &[Topic]) {
        let render = self.render();
        let mut choices: Vec<Choice> = Topic::ALL
            .iter()
            .map(|topic| Choice {
                label: format!(
                    "{} {}",
                    if topics.contains(topic) { "✓" } else { "☐" },
                    render.text(&format!("topic-{}", topic.as_str()))
                ),
                payload: format!("sub:t:{}", topic.as_str()),
            })
            .collect();
        choices.push(render.choice("subscribe-save", "sub:done"));
        choices.push(render.choice("button-cancel", payload::CANCEL));
        let summary = self.subscription_summary(village, topics);
        let text = render.text_with("subscribe-topics-prompt", &[("summary", &summary)]);
        self.replies.push(render.choices(text, choices));
    }

    /// "ประกาศ": a village head writes for their village; staff and admins for all
    /// villages or chosen ones. Returns false for anyone else.
    pub(super) fn start_update(&mut self) -> anyhow::Result<bool> {
        let role = self.lookup.role_of(&self.inbound.sender)?;
        let composition = match role {
            Role::VillageHead { village } => Composition {
                topic: Topic::Village,
                villages: vec![village],
                step: ComposeStep::Text,
                text: None,
                photo: None,
                location: None,
            },
            Role::Staff { .. } | Role::Admin => Composition {
                topic: Topic::Office,
                villages: Vec::new(),
                step: ComposeStep::Villages,
                text: None,
                photo: None,
                location: None,
            },
            Role::Resident | Role::IntegrityOfficer => return Ok(false),
        };
        if self.daily_limit_reached(&role)? {
            self.say_menu("update-limit");
            return Ok(true);
        }
        self.conversation.flow = Flow::ComposingUpdate(composition.clone());
        self.compose_prompt(&composition)?;
        Ok(true)
    }

    fn daily_limit_reached(&self, role: &Role) -> anyhow::Result<bool> {
        if !matches!(role, Role::VillageHead { .. }) {
            return Ok(false);
        }
        let sent = self
            .lookup
            .updates_since(&self.inbound.sender, start_of_day(self.inbound.received_at))?;
        Ok(sent >= self.engine.settings().updates.max_per_day)
    }

    fn compose_prompt(&mut self, composition: &Composition) -> anyhow::Result<()> {
        let render = self.render();
        match composition.step {
            ComposeStep::Villages => {
                let mut choices: Vec<Choice> = self
                    .engine
                    .settings()
                    .villages
                    .iter()
                    .take(10)
                    .map(|v| Choice {
                        label: format!(
                            "{} หมู่ {}",
                            if composition.villages.contains(&v.number) {
                                "✓"
                            } else {
                                "☐"
                            },
                            v.number
                        ),
                        payload: format!("upd:v:{}", v.number),
                    })
                    .collect();
                choices.push(render.choice("update-next", "upd:next"));
                choices.push(render.choice("button-cancel", payload::CANCEL));
                let text = if composition.villages.is_empty() {
                    render.text("update-villages-all")
                } else {
                    let chosen: Vec<String> =
                        composition.villages.iter().map(u32::to_string).collect();
                    render.text_with("update-villages-some", &[("villages", &chosen.join(", "))])
                };
                self.replies.push(render.choices(text, choices));
            }
            ComposeStep::Text => {
                let max = self.engine.settings().updates.max_text_chars.to_string();
                self.say_with("update-text-prompt", &[("max", &max)]);
            }
            ComposeStep::Attachment => {
                self.replies.push(render.choices(
                    render.text("update-attachment-prompt"),
                    vec![
                        render.choice("button-share-photo", payload::SHARE_PHOTO),
                        render.choice("button-share-location", payload::SHARE_LOCATION),
                        render.choice("button-skip", "upd:skip"),
                        render.choice("button-cancel", payload::CANCEL),
                    ],
                ));
            }
            ComposeStep::Confirm => {
                let audience = self
                    .lookup
                    .audience(composition.topic, &composition.villages)?;
                let mut draft = crate::domain::update::Update::draft(
                    self.inbound.sender.clone(),
                    composition.topic,
                    composition.villages.clone(),
                    self.inbound.received_at,
                );
                draft.text = composition.text.clone().unwrap_or_default();
                draft.photo = composition.photo.clone();
                draft.location = composition.location.clone();
                let preview = update_message(self.engine.settings(), &draft);
                self.replies.extend(preview);
                let text = render.text_with("update-confirm", &[("count", &audience.to_string())]);
                self.replies.push(render.choices(
                    text,
                    vec![
                        render.choice("update-send", "upd:send"),
                        render.choice("button-cancel", payload::CANCEL),
                    ],
                ));
            }
        }
        Ok(())
    }

    pub(super) fn on_composing(
        &mut self,
        mut composition: Composition,
        input: Input<'_>,
    ) -> anyhow::Result<()> {
        match (composition.step, input) {
            (ComposeStep::Villages, Input::Button(data)) => {
                if let Some(number) = data.strip_prefix("upd:v:").and_then(|n| n.parse().ok()) {
                    if let Some(at) = composition.villages.iter().position(|v| *v == number) {
                        composition.villages.remove(at);
                    } else if self.engine.settings().village(number).is_some() {
                        composition.villages.push(number);
                    }
                } else if data == "upd:next" {
                    composition.step = ComposeStep::Text;
                }
            }
            (ComposeStep::Text, Input::Text(text)) => {
                let max = self.engine.settings().updates.max_text_chars;
                if text.trim().is_empty() || text.chars().count() > max {
                    self.say_with("update-text-too-long", &[("max", &max.to_string())]);
                    return Ok(());
                }
                composition.text = Some(text.trim().to_owned());
                composition.step = ComposeStep::Attachment;
            }
            (ComposeStep::Attachment, Input::Button("upd:skip")) => {
                composition.step = ComposeStep::Confirm;
            }
            (ComposeStep::Confirm, Input::Button("upd:send")) => {
                let role = self.lookup.role_of(&self.inbound.sender)?;
                let allowed = match (&role, composition.topic) {
                    (Role::VillageHead { village }, crate::domain::update::Topic::Village) => {
                        composition.villages == [*village]
                    }
                    (Role::Staff { .. } | Role::Admin, _) => true,
                    _ => false,
                };
                self.conversation.flow = Flow::Idle;
                if !allowed {
                    self.say_menu("update-not-allowed");
                    return Ok(());
                }
                if self.daily_limit_reached(&role)? {
                    self.say_menu("update-limit");
                    return Ok(());
                }
                self.action = Some(Action::SendUpdate(NewUpdate {
                    topic: composition.topic,
                    villages: composition.villages,
                    text: composition.text.unwrap_or_default(),
                    photo: composition.photo,
                    location: composition.location,
                }));
                let hold = self.engine.settings().updates.hold_minutes.to_string();
                self.say_menu_with("update-scheduled", &[("minutes", &hold)]);
                return Ok(());
            }
            _ => {}
        }
        self.conversation.flow = Flow::ComposingUpdate(composition.clone());
        self.compose_prompt(&composition)
    }

    /// A photo or a place sent while writing an update.
    pub(super) fn on_update_attachment(
        &mut self,
        photo: Option<String>,
        location: Option<Location>,
    ) -> anyhow::Result<bool> {
        let Flow::ComposingUpdate(mut composition) = self.conversation.flow.clone() else {
            return Ok(false);
        };
        if composition.step != ComposeStep::Attachment {
            return Ok(false);
        }
        if photo.is_some() {
            composition.photo = photo;
        }
        if location.is_some() {
            composition.location = location;
        }
        composition.step = ComposeStep::Confirm;
        self.conversation.flow = Flow::ComposingUpdate(composition.clone());
        self.compose_prompt(&composition)?;
        Ok(true)
    }
}

/// What subscribers receive: a card with who sends it, the text, and links to the photo
/// and the place (platform-neutral: every channel shows a link).
#[must_use]
pub fn update_message(settings: &Settings, update: &Update) -> Vec<Outbound> {
    let title = match update.topic {
        Topic::Village => {
            let villages: Vec<String> = update
                .villages
                .iter()
                .map(|n| match settings.village(*n) {
                    Some(v) => format!("หมู่ {n} {}", v.th),
                    None => format!("หมู่ {n}"),
                })
                .collect();
            format!("ข่าวจากผู้ใหญ่บ้าน {}", villages.join(", "))
        }
        Topic::Office => format!("ประกาศจาก{}", settings.office.name_th),
        Topic::Progress => "ความคืบหน้ามาตรการคุณธรรมและความโปร่งใส (ITA)".to_owned(),
    };
    let mut lines = vec![update.text.clone()];
    if update.photo.is_some() {
        lines.push(format!(
            "ภาพประกอบ: {}",
            public_url(settings, &format!("/updates/{}/photo", update.id))
        ));
    }
    if let Some(location) = &update.location {
        lines.push(format!(
            "แผนที่: https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}",
            location.latitude, location.longitude
        ));
    }
    lines.push(format!(
        "{} · พิมพ์ \"หยุด\" เพื่อเลิกรับข่าว",
        crate::thai::format_datetime(update.send_at, crate::domain::Lang::Th)
    ));
    vec![Outbound::Card(Card {
        title,
        lines,
        buttons: Vec::new(),
    })]
}

/// An address on the office's public site, from the web chat's address.
fn public_url(settings: &Settings, path: &str) -> String {
    let base = settings.office.web_chat_url.trim_end_matches('/');
    format!("{base}{path}")
}
