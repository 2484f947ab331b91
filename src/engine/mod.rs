//! The conversation engine: menus, question answering, intake flows and case lookup.
//!
//! It knows no HTTP and no platform, and does no I/O of its own: given a conversation's
//! state, an `Inbound` event and read access to cases (`Lookup`), `Engine::step` returns
//! the new state, the replies and the change to commit. The inbox commits the change and
//! only then sends the replies.

mod dialogue;
pub mod intent;
mod recall;
mod reply;
mod staff;
mod updates;

pub use updates::update_message;

pub use dialogue::payload;
pub use staff::is_staff_command;
pub use updates::{ComposeStep, Composition, NewUpdate};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::case::{Case, CaseCode, CaseKind, FiledCase, Receipt};
use crate::domain::change::CaseChange;
use crate::domain::role::Role;
use crate::domain::{Channel, ChatKey, Lang, Location};
use crate::kb::glossary::Glossary;
use crate::kb::{Index, KnowledgeBase};
use crate::locales::Locales;

/// Longest description or added information a resident may send, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Most photos one case keeps.
pub const MAX_PHOTOS: usize = 3;

/// One event from a channel, already verified and parsed by its adapter.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The platform's id of the event, used to process it exactly once.
    pub event_id: Option<String>,
    pub sender: ChatKey,
    /// Where to answer (a chat or group id); equals the sender's id in a private chat.
    pub conversation: String,
    pub kind: InboundKind,
    pub received_at: DateTime<Utc>,
    /// The language the platform says the person uses, if it says.
    pub lang_hint: Option<Lang>,
}

impl Inbound {
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.sender.channel
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum InboundKind {
    Text(String),
    /// The payload of a button or quick reply.
    Postback(String),
    Location(Location),
    /// A photo, already stored; the id of the stored media.
    Image(String),
    /// Several photos sent together (Messenger), already stored.
    Images(Vec<String>),
    /// A photo the channel could not take (too large, not an image, not fetched).
    ImageRejected,
    /// The bot was mentioned in a group chat.
    GroupMention,
    Follow,
    Unfollow,
    Join,
    Leave,
    /// A message of a kind tambon cannot read (sticker, audio, video, file…), by its
    /// platform name: the resident is told politely.
    UnsupportedMessage(String),
    /// An event type tambon does not handle, by its platform name: never an error.
    Unsupported(String),
}

/// A reply, independent of any channel; each adapter renders it for its platform.
///
/// Written as an internally tagged object (`{"type": "text", "text": …}`) and read back
/// through `OutboundFields`: serde reads an internally tagged enum by buffering all of
/// its fields first, which every answer sent paid for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "OutboundFields")]
pub enum Outbound {
    Text {
        text: String,
    },
    /// A text with up to 13 choices to tap.
    QuickReplies {
        text: String,
        choices: Vec<Choice>,
    },
    Card(Card),
}

/// What an `Outbound` is written as, read as one plain struct: the tag, and the fields of
/// every kind, each present only in its own.
#[derive(Deserialize)]
struct OutboundFields {
    #[serde(rename = "type")]
    kind: OutboundKind,
    text: Option<String>,
    choices: Option<Vec<Choice>>,
    title: Option<String>,
    lines: Option<Vec<String>>,
    buttons: Option<Vec<Choice>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutboundKind {
    Text,
    QuickReplies,
    Card,
}

impl TryFrom<OutboundFields> for Outbound {
    type Error = String;

    fn try_from(fields: OutboundFields) -> Result<Self, Self::Error> {
        let missing = |kind: &str, field: &str| format!("a {kind} reply without its `{field}`");
        Ok(match fields.kind {
            OutboundKind::Text => Self::Text {
                text: fields.text.ok_or_else(|| missing("text", "text"))?,
            },
            OutboundKind::QuickReplies => Self::QuickReplies {
                text: fields
                    .text
                    .ok_or_else(|| missing("quick_replies", "text"))?,
                choices: fields
                    .choices
                    .ok_or_else(|| missing("quick_replies", "choices"))?,
            },
            OutboundKind::Card => Self::Card(Card {
                title: fields.title.ok_or_else(|| missing("card", "title"))?,
                lines: fields.lines.ok_or_else(|| missing("card", "lines"))?,
                buttons: fields.buttons.ok_or_else(|| missing("card", "buttons"))?,
            }),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    /// Sent back as a postback; short ASCII, so that it fits every platform's limit.
    pub payload: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub title: String,
    pub lines: Vec<String>,
    pub buttons: Vec<Choice>,
}

/// The most quick replies any platform shows (LINE and Messenger: 13).
pub const MAX_CHOICES: usize = 13;

/// A conversation's state, stored between events so a restart resumes where the resident
/// was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub lang: Option<Lang>,
    /// Whether the resident picked the language (then it sticks) or it was guessed.
    #[serde(default)]
    pub lang_chosen: bool,
    pub flow: Flow,
    #[serde(default)]
    pub receipt_tries: ReceiptTries,
}

/// Receipt lookups in the current window (see `dialogue::take_receipt_try`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceiptTries {
    pub window_start: Option<DateTime<Utc>>,
    pub count: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum Flow {
    #[default]
    Idle,
    Intake(Intake),
    AwaitingCode,
    /// A case is on screen; its buttons act on it.
    Viewing {
        case_id: u64,
    },
    AddingInfo {
        case_id: u64,
    },
    ConfirmingWithdrawal {
        case_id: u64,
    },
    /// Nothing in the knowledge base matched; the question may go to staff.
    OfferingStaffQuestion {
        question: String,
    },
    /// Staff closed a case from the chat; a photo sent next shows the result.
    AwaitingAfterPhoto {
        case_id: u64,
    },
    /// Choosing a village and topics to follow.
    Subscribing {
        village: Option<u32>,
        topics: Vec<crate::domain::update::Topic>,
    },
    /// A village head or staff writing an update.
    ComposingUpdate(Composition),
}

impl Conversation {
    /// Whether a photo is what the conversation waits for from a group chat (where
    /// other photos are chatter, not for the bot).
    #[must_use]
    pub fn awaits_after_photo(&self) -> bool {
        matches!(self.flow, Flow::AwaitingAfterPhoto { .. })
    }
}

/// A case being put together, step by step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intake {
    pub kind: CaseKind,
    pub step: IntakeStep,
    pub category: Option<String>,
    pub description: Option<String>,
    pub location: Option<Location>,
    pub place: Option<String>,
    pub photos: Vec<String>,
    pub contact: Option<String>,
    pub anonymous: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStep {
    PrivacyNotice,
    Category,
    Description,
    Location,
    Photo,
    Anonymity,
    Contact,
    Confirm,
}

/// What a step asks the inbox to commit.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A change to a case, whole: the inbox adds only an anonymous complaint's receipt
    /// (random, and hashed with the installation's secret).
    Case(CaseChange),
    /// Make a one-time code that links another chat app to this one.
    IssueLinkCode,
    /// Link this chat to the one that made `code`.
    RedeemLinkCode { code: String },
    /// Take the role of an enrolment code.
    Enrol { code: String },
    /// Follow these topics (of this village).
    Subscribe {
        village: Option<u32>,
        topics: Vec<crate::domain::update::Topic>,
    },
    /// Stop every update, at once.
    Unsubscribe,
    /// Send an update to subscribers (after the hold).
    SendUpdate(NewUpdate),
}

/// Something a staff member did that the audit log must record.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub action: String,
    pub case_code: String,
    pub detail: String,
}

/// The result of one event.
#[derive(Clone, Debug)]
pub struct Step {
    pub conversation: Conversation,
    pub replies: Vec<Outbound>,
    pub action: Option<Action>,
    pub audit: Vec<AuditEvent>,
}

/// Read access to cases, implemented by the store (and by fakes in tests).
pub trait Lookup {
    fn case(&self, case_id: u64) -> anyhow::Result<Option<Case>>;
    fn case_by_code(&self, code: &CaseCode) -> anyhow::Result<Option<Case>>;
    fn case_by_receipt(&self, receipt: &Receipt) -> anyhow::Result<Option<Case>>;
    fn cases_of(&self, reporter: &ChatKey) -> anyhow::Result<Vec<Case>>;
    /// Every chat identity linked to `chat` (itself included).
    fn identities(&self, chat: &ChatKey) -> anyhow::Result<Vec<ChatKey>>;
    /// The role of a chat identity (a resident unless enrolled).
    fn role_of(&self, chat: &ChatKey) -> anyhow::Result<Role>;
    /// Every case not yet closed, oldest first.
    fn open_cases(&self) -> anyhow::Result<Vec<Case>>;
    /// The chat identity's subscription to updates.
    fn subscription(
        &self,
        chat: &ChatKey,
    ) -> anyhow::Result<Option<crate::domain::update::Subscription>>;
    /// How many subscribers an update of `topic` for `villages` (empty: all) reaches.
    fn audience(
        &self,
        topic: crate::domain::update::Topic,
        villages: &[u32],
    ) -> anyhow::Result<usize>;
    /// How many updates `author` recorded since `since`.
    fn updates_since(&self, author: &ChatKey, since: DateTime<Utc>) -> anyhow::Result<u32>;
    /// How staff notes and the audit log name a person: their role and a keyed tag, never
    /// their platform id.
    fn actor_label(&self, who: &ChatKey) -> anyhow::Result<String>;
}

/// What the engine knows: the plan, its index, the assessment's glossary and how to
/// read what residents mean.
pub struct Knowledge {
    pub kb: KnowledgeBase,
    pub index: Index,
    pub glossary: Glossary,
    pub classifier: intent::Classifier,
}

/// Knowledge built on first use: cutting the plan into words needs the segmenter, which
/// takes a few hundred milliseconds to build; start-up does not wait for it.
type LazyKnowledge = std::sync::LazyLock<Knowledge, Box<dyn FnOnce() -> Knowledge + Send>>;

/// The engine and what it reads: settings, the knowledge base and the texts.
#[derive(Clone)]
pub struct Engine {
    settings: Arc<Settings>,
    knowledge: Arc<LazyKnowledge>,
    /// Set once `knowledge` is built: what may ask for it without waiting.
    knowledge_built: Arc<std::sync::atomic::AtomicBool>,
    locales: Arc<Locales>,
    progress: Arc<crate::kb::progress::ProgressBoard>,
    recall: Arc<recall::Recall<Understanding>>,
}

/// How a free-text message is read: what it means, and how the plan reads it.
pub struct Understanding {
    pub reading: intent::Reading,
    pub plan: crate::kb::Reading,
}

impl Engine {
    #[must_use]
    pub fn new(settings: Arc<Settings>, knowledge: Knowledge, locales: Arc<Locales>) -> Self {
        Self::building(settings, move || knowledge, locales)
    }

    /// An engine whose knowledge `build` makes, on a thread of its own from now on; the
    /// first turn that needs it waits for it.
    #[must_use]
    pub fn building<F>(settings: Arc<Settings>, build: F, locales: Arc<Locales>) -> Self
    where
        F: FnOnce() -> Knowledge + Send + 'static,
    {
        let knowledge_built = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let built = Arc::clone(&knowledge_built);
        let knowledge: Arc<LazyKnowledge> =
            Arc::new(std::sync::LazyLock::new(Box::new(move || {
                let knowledge = build();
                built.store(true, std::sync::atomic::Ordering::Release);
                knowledge
            })));
        let warm = Arc::clone(&knowledge);
        // If the thread cannot start, the first turn builds it instead.
        let _ = std::thread::Builder::new()
            .name("knowledge".to_owned())
            .spawn(move || {
                std::sync::LazyLock::force(&warm);
            });
        Self {
            settings,
            knowledge,
            knowledge_built,
            locales,
            progress: Arc::default(),
            recall: Arc::default(),
        }
    }

    /// The language a person's first message shows by itself, if any
    /// (`dialogue::language_shown_by`): when it shows one, the platform's hint would not
    /// be read, so a channel need not ask the platform for it. Reading English needs the
    /// knowledge; while it is still being built this says only whether the text is Thai,
    /// rather than make the caller (an async task) wait for it.
    #[must_use]
    pub fn language_of_first_message(&self, kind: &InboundKind) -> Option<Lang> {
        if self
            .knowledge_built
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return dialogue::language_shown_by(self, kind, true);
        }
        matches!(kind, InboundKind::Text(text) if text.chars().any(crate::thai::is_thai))
            .then_some(Lang::Th)
    }

    /// The progress staff reported on the plan's items, shown in every answer.
    #[must_use]
    pub fn progress(&self) -> &crate::kb::progress::ProgressBoard {
        &self.progress
    }

    /// Runs one event through the conversation.
    #[tracing::instrument(skip_all, fields(channel = %inbound.channel()))]
    pub fn step(
        &self,
        conversation: Conversation,
        inbound: &Inbound,
        lookup: &dyn Lookup,
    ) -> anyhow::Result<Step> {
        dialogue::Turn::new(self, conversation, inbound, lookup).run()
    }

    /// What the resident is told once a case is on disk. `reveal_receipt` is false when
    /// the replies are kept for redeliveries: the receipt is never stored in clear.
    #[must_use]
    pub fn filed_replies(
        &self,
        lang: Lang,
        filed: &FiledCase,
        reveal_receipt: bool,
    ) -> Vec<Outbound> {
        reply::Render::new(self, lang).filed(filed, reveal_receipt)
    }

    /// The answer to a question from the knowledge base alone, as a resident would see it.
    #[must_use]
    pub fn answer_question(&self, lang: Lang, question: &str) -> Vec<Outbound> {
        reply::Render::new(self, lang).answer(&self.index().read(question))
    }

    /// What a resident is told on their own channel when staff answer or move their case.
    #[must_use]
    pub fn resident_update(
        &self,
        lang: Lang,
        case: &Case,
        notice: &crate::domain::case::Notice,
    ) -> Outbound {
        reply::Render::new(self, lang).resident_update(case, notice)
    }

    /// What the person is told after sending an enrolment code.
    #[must_use]
    pub fn enrol_replies(&self, lang: Lang, role: Option<&Role>) -> Vec<Outbound> {
        let render = reply::Render::new(self, lang);
        let text = match role {
            Some(role) => render.text_with("enrol-done", &[("role", &render.role_name(role))]),
            None => render.text("enrol-bad-code"),
        };
        vec![Outbound::Text { text }]
    }

    /// A role's name for people (`เจ้าหน้าที่กองช่าง`).
    #[must_use]
    pub fn role_name(&self, lang: Lang, role: &Role) -> String {
        reply::Render::new(self, lang).role_name(role)
    }

    /// The turn of a person who sent more than their limit: asked to slow down, their
    /// conversation left as it was.
    #[must_use]
    pub fn slow_down(&self, conversation: Conversation) -> Step {
        let render = reply::Render::new(self, conversation.lang.unwrap_or_default());
        Step {
            replies: vec![Outbound::Text {
                text: render.text("too-fast"),
            }],
            conversation,
            action: None,
            audit: Vec::new(),
        }
    }

    /// What the resident is told when a link code was made.
    #[must_use]
    pub fn link_code_replies(&self, lang: Lang, code: &str) -> Vec<Outbound> {
        let render = reply::Render::new(self, lang);
        vec![Outbound::Text {
            text: render.text_with("link-code", &[("code", code)]),
        }]
    }

    /// What the resident is told after sending a link code.
    #[must_use]
    pub fn link_result_replies(&self, lang: Lang, result: crate::domain::Linked) -> Vec<Outbound> {
        let render = reply::Render::new(self, lang);
        let id = match result {
            crate::domain::Linked::Done => "link-done",
            crate::domain::Linked::BadCode => "link-bad-code",
            crate::domain::Linked::SameChat => "link-same-chat",
        };
        vec![render.menu(&render.text(id))]
    }

    /// How a message is read: which intent won and why, then how the knowledge base
    /// reads it; for tuning `intents.toml` and the vocabulary.
    #[must_use]
    pub fn explain_question(&self, question: &str) -> String {
        let reading = self.read(question);
        format!(
            "{}\n{}",
            self.classifier().explain(&reading),
            self.index().explain(question)
        )
    }

    /// The category of `kind` that a resident's words suggest.
    #[must_use]
    pub fn guess_category(&self, kind: CaseKind, text: &str) -> Option<String> {
        self.classifier().guess_category_of(kind, text)
    }

    /// What a free-text message means.
    #[must_use]
    pub fn read(&self, text: &str) -> intent::Reading {
        self.understand(text).reading.clone()
    }

    /// What a free-text message means, and how the plan reads it; a short text read
    /// before is not read again (`recall`).
    #[must_use]
    pub fn understand(&self, text: &str) -> Arc<Understanding> {
        self.recall
            .reading_of(text, || self.understand_afresh(text))
    }

    /// `understand` without the kept readings (for `benches/understanding`): the message
    /// is cut into words once, for both readings.
    #[must_use]
    pub fn understand_afresh(&self, text: &str) -> Understanding {
        let prepared = self.index().prepare(text);
        let plan = self.index().read_text(&prepared);
        let plan_found = plan.answer != crate::kb::Answer::NotFound;
        let reading = self.classifier().read_prepared(text, &prepared, plan_found);
        Understanding { reading, plan }
    }

    /// A case as a card for the staff of its division (a bound group chat), in Thai.
    #[must_use]
    pub fn staff_card(&self, case: &Case, notice: &crate::domain::case::Notice) -> Outbound {
        Outbound::Card(reply::Render::new(self, Lang::Th).staff_card(case, notice))
    }

    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    #[must_use]
    pub fn kb(&self) -> &KnowledgeBase {
        &self.knowledge.kb
    }

    #[must_use]
    pub fn glossary(&self) -> &Glossary {
        &self.knowledge.glossary
    }

    fn index(&self) -> &Index {
        &self.knowledge.index
    }

    fn classifier(&self) -> &intent::Classifier {
        &self.knowledge.classifier
    }

    #[must_use]
    pub fn locales(&self) -> &Locales {
        &self.locales
    }
}

#[cfg(test)]
mod tests;
