//! The state machine of one conversation turn.

use crate::config::INTEGRITY_DIVISION;
use crate::domain::case::{Case, CaseCode, CaseKind, NewCase, Receipt, Status};
use crate::domain::change::CaseChange;
use crate::domain::{Channel, Lang};
use crate::engine::intent::{find_case_code, find_receipt, Intent, Reading};
use crate::engine::reply::Render;
use crate::engine::{
    Action, Choice, Conversation, Engine, Flow, Inbound, InboundKind, Intake, IntakeStep, Lookup,
    Outbound, Step, MAX_PHOTOS, MAX_TEXT_CHARS,
};
use crate::kb::Answer;

/// Button payloads: short ASCII, the same on every channel.
pub mod payload {
    pub const START: &str = "start";
    pub const MENU: &str = "menu";
    pub const ASK: &str = "ask";
    pub const SUGGEST: &str = "suggest";
    pub const COMPLAIN: &str = "complain";
    pub const CORRUPTION: &str = "corrupt";
    pub const FOLLOW: &str = "follow";
    pub const LANGUAGE: &str = "lang";
    pub const LANGUAGE_TH: &str = "lang:th";
    pub const LANGUAGE_EN: &str = "lang:en";
    pub const CATEGORY_PREFIX: &str = "cat:";
    pub const CASE_PREFIX: &str = "case:";
    pub const CONTINUE: &str = "continue";
    pub const SKIP: &str = "skip";
    pub const DONE: &str = "done";
    pub const CONFIRM: &str = "confirm";
    pub const CANCEL: &str = "cancel";
    pub const ANONYMOUS: &str = "anon:yes";
    pub const NAMED: &str = "anon:no";
    pub const ADD_INFO: &str = "add";
    pub const WITHDRAW: &str = "withdraw";
    pub const WITHDRAW_CONFIRM: &str = "withdraw:yes";
    pub const STAFF_QUESTION: &str = "staffq";
    pub const LINK: &str = "link";
    pub const SUBSCRIBE: &str = "sub";
    pub const ANNOUNCE: &str = "upd";
    /// `rate:<case id>:<1-5>`: the resident confirms a resolved case with a rating.
    pub const RATE_PREFIX: &str = "rate:";
    /// `reopen:<case id>`: the resident says a resolved case is not fixed.
    pub const REOPEN_PREFIX: &str = "reopen:";
    /// `kb:<item id>`: the whole item of the plan, after a short answer.
    pub const KB_ITEM_PREFIX: &str = "kb:";
    /// `st:<command>:<case id>`: a button on a case card in a staff group chat.
    pub const STAFF_PREFIX: &str = "st:";
    /// Asks the client to share the device's location (web chat, LINE's location action).
    pub const SHARE_LOCATION: &str = "@location";
    /// Asks the client to pick a photo.
    pub const SHARE_PHOTO: &str = "@photo";
}

const CANCEL_WORDS: &[&str] = &["ยกเลิก", "cancel", "/cancel"];
const MENU_WORDS: &[&str] = &[
    "เมนู",
    "menu",
    "/menu",
    "start",
    "/start",
    "help",
    "/help",
    "ช่วยเหลือ",
    "สวัสดี",
    "hi",
    "hello",
];
const CONFIRM_WORDS: &[&str] = &["ยืนยัน", "ตกลง", "confirm", "yes", "ok", "ใช่"];
const SKIP_WORDS: &[&str] = &["ข้าม", "skip", "ไม่มี", "no", "none", "-"];
const DONE_WORDS: &[&str] = &["เสร็จ", "เสร็จแล้ว", "done", "finish"];
const LINK_WORDS: &[&str] = &["link", "เชื่อมบัญชี", "เชื่อม"];
const MAX_CONTACT_CHARS: usize = 200;
const MAX_PLACE_CHARS: usize = 500;
/// Receipt lookups one sender may make per window.
const MAX_RECEIPT_TRIES: u32 = 5;
const RECEIPT_WINDOW_MINUTES: i64 = 15;
/// How many of a resident's own cases the follow menu offers.
const MAX_LISTED_CASES: usize = 10;

/// One event being handled.
pub struct Turn<'a> {
    pub(super) engine: &'a Engine,
    pub(super) conversation: Conversation,
    pub(super) inbound: &'a Inbound,
    pub(super) lookup: &'a dyn Lookup,
    pub(super) replies: Vec<Outbound>,
    pub(super) action: Option<Action>,
    pub(super) audit: Vec<crate::engine::AuditEvent>,
}

/// What the resident did, read from text or a button.
pub(super) enum Input<'t> {
    Text(&'t str),
    Button(&'t str),
}

impl<'a> Turn<'a> {
    pub fn new(
        engine: &'a Engine,
        conversation: Conversation,
        inbound: &'a Inbound,
        lookup: &'a dyn Lookup,
    ) -> Self {
        Self {
            engine,
            conversation,
            inbound,
            lookup,
            replies: Vec::new(),
            action: None,
            audit: Vec::new(),
        }
    }

    pub fn run(mut self) -> anyhow::Result<Step> {
        self.settle_language();
        match &self.inbound.kind {
            InboundKind::Text(text) => {
                let text = text.trim().to_owned();
                self.on_input(Input::Text(&text))?;
            }
            InboundKind::Postback(data) => {
                let data = data.clone();
                self.on_input(Input::Button(&data))?;
            }
            InboundKind::Location(location)
                if self.on_update_attachment(None, Some(location.clone()))? => {}
            InboundKind::Location(location) => {
                if let Flow::Intake(intake) = &mut self.conversation.flow {
                    if intake.step == IntakeStep::Location {
                        intake.location = Some(location.clone());
                        self.advance_intake()?;
                        return Ok(self.finish());
                    }
                }
                self.say_menu("media-outside-flow");
            }
            InboundKind::Image(media_id)
                if self.on_update_attachment(Some(media_id.clone()), None)? => {}
            InboundKind::Image(media_id) if self.conversation.awaits_after_photo() => {
                let media_id = media_id.clone();
                self.on_after_photo(media_id)?;
            }
            InboundKind::Image(media_id) => {
                let media_ids = vec![media_id.clone()];
                self.on_photos(&media_ids)?;
            }
            InboundKind::Images(media_ids) => {
                let media_ids = media_ids.clone();
                self.on_photos(&media_ids)?;
            }
            InboundKind::ImageRejected => {
                if let Flow::Intake(intake) = self.conversation.flow.clone() {
                    if matches!(intake.step, IntakeStep::Photo | IntakeStep::Location) {
                        self.say("photo-rejected");
                        self.prompt(&intake);
                        return Ok(self.finish());
                    }
                }
                self.say_menu("photo-rejected");
            }
            InboundKind::UnsupportedMessage(_) => self.say_menu("unsupported-message"),
            InboundKind::Follow => self.say_menu("greeting"),
            InboundKind::GroupMention => self.say("group-hint"),
            // Unfollowing or blocking the bot ends the subscription.
            InboundKind::Unfollow => self.action = Some(Action::Unsubscribe),
            InboundKind::Join | InboundKind::Leave | InboundKind::Unsupported(_) => {}
        }
        Ok(self.finish())
    }

    /// Photos sent during an intake join the case (up to `MAX_PHOTOS`).
    fn on_photos(&mut self, media_ids: &[String]) -> anyhow::Result<()> {
        let Flow::Intake(intake) = &mut self.conversation.flow else {
            self.say_menu("media-outside-flow");
            return Ok(());
        };
        if !matches!(intake.step, IntakeStep::Photo | IntakeStep::Location)
            || intake.photos.len() >= MAX_PHOTOS
        {
            self.say_menu("media-outside-flow");
            return Ok(());
        }
        let room = MAX_PHOTOS - intake.photos.len();
        intake.photos.extend(media_ids.iter().take(room).cloned());
        intake.step = IntakeStep::Photo;
        let n_photos = intake.photos.len();
        if n_photos >= MAX_PHOTOS {
            return self.advance_intake();
        }
        let render = self.render();
        let text = render.text_with("photo-received", &[("count", &n_photos.to_string())]);
        self.replies.push(render.choices(
            text,
            vec![
                render.choice("button-more-photo", payload::SHARE_PHOTO),
                render.choice("button-done", payload::DONE),
                render.choice("button-cancel", payload::CANCEL),
            ],
        ));
        Ok(())
    }

    fn finish(self) -> Step {
        Step {
            conversation: self.conversation,
            replies: self.replies,
            action: self.action,
            audit: self.audit,
        }
    }

    pub(super) fn lang(&self) -> Lang {
        self.conversation.lang.unwrap_or_default()
    }

    pub(super) fn render(&self) -> Render<'a> {
        Render::new(self.engine, self.lang())
    }

    /// A chosen language sticks. Otherwise what the message shows by itself
    /// (`language_shown_by`), then the conversation's language, then the platform's hint,
    /// then Thai.
    fn settle_language(&mut self) {
        if self.conversation.lang_chosen {
            return;
        }
        let first_message = self.conversation.lang.is_none();
        if let Some(lang) = language_shown_by(self.engine, &self.inbound.kind, first_message)
            .or(self.conversation.lang)
            .or(self.inbound.lang_hint)
        {
            self.conversation.lang = Some(lang);
        }
    }

    pub(super) fn say_with(&mut self, id: &str, args: &[(&str, &str)]) {
        let text = self.render().text_with(id, args);
        self.replies.push(Outbound::Text { text });
    }

    pub(super) fn say_menu_with(&mut self, id: &str, args: &[(&str, &str)]) {
        let render = self.render();
        let text = render.text_with(id, args);
        self.replies.push(render.menu(&text));
    }

    pub(super) fn say(&mut self, id: &str) {
        let text = self.render().text(id);
        self.replies.push(Outbound::Text { text });
    }

    pub(super) fn say_menu(&mut self, id: &str) {
        let render = self.render();
        let text = render.text(id);
        self.replies.push(render.menu(&text));
    }

    fn on_input(&mut self, input: Input<'_>) -> anyhow::Result<()> {
        // Leaving and the menu work from anywhere.
        let is_cancel = match input {
            Input::Text(text) => is_word(text, CANCEL_WORDS),
            Input::Button(data) => data == payload::CANCEL,
        };
        if is_cancel {
            let was_busy = self.conversation.flow != Flow::Idle;
            self.conversation.flow = Flow::Idle;
            self.say_menu(if was_busy { "cancelled" } else { "menu-prompt" });
            return Ok(());
        }
        let is_menu = match input {
            Input::Text(text) => is_word(text, MENU_WORDS),
            Input::Button(data) => data == payload::MENU || data == payload::START,
        };
        if is_menu {
            self.conversation.flow = Flow::Idle;
            self.say_menu("greeting");
            return Ok(());
        }
        // Stopping updates works from anywhere, at once.
        let is_stop = match input {
            Input::Text(text) => is_word(text, super::updates::STOP_WORDS),
            Input::Button(data) => data == "sub:stop",
        };
        if is_stop {
            return self.stop_subscription();
        }
        let is_subscribe = match input {
            Input::Text(text) => is_word(text, super::updates::SUBSCRIBE_WORDS),
            Input::Button(data) => data == payload::SUBSCRIBE,
        };
        if is_subscribe {
            return self.start_subscribing();
        }
        let is_announce = match input {
            Input::Text(text) => is_word(text, super::updates::ANNOUNCE_WORDS),
            Input::Button(data) => data == payload::ANNOUNCE,
        };
        if is_announce && self.start_update()? {
            return Ok(());
        }
        if let Input::Button(data) = input {
            if self.on_menu_button(data)? {
                return Ok(());
            }
        }
        match self.conversation.flow.clone() {
            Flow::Idle
            | Flow::Viewing { .. }
            | Flow::OfferingStaffQuestion { .. }
            | Flow::AwaitingAfterPhoto { .. } => self.on_idle(input),
            Flow::Intake(intake) => self.on_intake(intake, input),
            Flow::AwaitingCode => self.on_awaiting_code(input),
            Flow::AddingInfo { case_id } => self.on_adding_info(case_id, input),
            Flow::ConfirmingWithdrawal { case_id } => self.on_confirming_withdrawal(case_id, input),
            Flow::Subscribing { village, topics } => self.on_subscribing(village, topics, input),
            Flow::ComposingUpdate(composition) => self.on_composing(composition, input),
        }
    }

    /// Buttons of the main menu and of a case on screen. Returns whether it was one.
    fn on_menu_button(&mut self, data: &str) -> anyhow::Result<bool> {
        let render = self.render();
        match data {
            payload::ASK => {
                self.conversation.flow = Flow::Idle;
                self.say("ask-prompt");
            }
            payload::SUGGEST => self.start_intake(CaseKind::Suggestion),
            payload::COMPLAIN => self.start_intake(CaseKind::Complaint),
            payload::CORRUPTION => self.start_intake(CaseKind::Corruption),
            payload::FOLLOW => {
                self.conversation.flow = Flow::AwaitingCode;
                let own = self.lookup.cases_of(&self.inbound.sender)?;
                let mut choices: Vec<Choice> = own
                    .iter()
                    .rev()
                    .take(MAX_LISTED_CASES)
                    .map(|case| Choice {
                        label: case.code.clone(),
                        payload: format!("{}{}", payload::CASE_PREFIX, case.code),
                    })
                    .collect();
                choices.push(render.choice("button-cancel", payload::CANCEL));
                self.replies
                    .push(render.choices(render.text("follow-prompt"), choices));
            }
            payload::LANGUAGE => {
                self.replies.push(render.choices(
                    render.text("language-prompt"),
                    vec![
                        Choice {
                            label: "ภาษาไทย".to_owned(),
                            payload: payload::LANGUAGE_TH.to_owned(),
                        },
                        Choice {
                            label: "English".to_owned(),
                            payload: payload::LANGUAGE_EN.to_owned(),
                        },
                    ],
                ));
            }
            payload::LINK => {
                self.conversation.flow = Flow::Idle;
                self.action = Some(Action::IssueLinkCode);
            }
            payload::LANGUAGE_TH | payload::LANGUAGE_EN => {
                let lang = if data == payload::LANGUAGE_TH {
                    Lang::Th
                } else {
                    Lang::En
                };
                self.conversation.lang = Some(lang);
                self.conversation.lang_chosen = true;
                self.say_menu("language-set");
            }
            _ => {
                if let Some(code) = data.strip_prefix(payload::CASE_PREFIX) {
                    self.show_case_by_code(code)?;
                    return Ok(true);
                }
                if let Some(item_id) = data.strip_prefix(payload::KB_ITEM_PREFIX) {
                    let render = self.render();
                    match self.engine.kb().item(item_id) {
                        Some(item) => {
                            self.replies.push(Outbound::Card(render.item_card(item)));
                            self.replies.push(render.menu(&render.text("kb-more")));
                        }
                        None => self.say_menu("button-expired"),
                    }
                    return Ok(true);
                }
                if let Some(button) = data.strip_prefix(payload::STAFF_PREFIX) {
                    let role = self.lookup.role_of(&self.inbound.sender)?;
                    return self.on_staff_button(&role, button);
                }
                return self.on_resolution_feedback(data);
            }
        }
        Ok(true)
    }

    fn on_idle(&mut self, input: Input<'_>) -> anyhow::Result<()> {
        let flow = std::mem::take(&mut self.conversation.flow);
        match (input, flow) {
            (Input::Button(payload::STAFF_QUESTION), Flow::OfferingStaffQuestion { question }) => {
                let Some(category) = self
                    .engine
                    .settings()
                    .categories_for(CaseKind::Question)
                    .next()
                    .cloned()
                else {
                    self.say_menu("error-internal");
                    return Ok(());
                };
                self.action = Some(Action::Case(CaseChange::File {
                    case: Box::new(NewCase {
                        kind: CaseKind::Question,
                        category: category.id,
                        division: category.division,
                        text: question,
                        location: None,
                        place: None,
                        photos: Vec::new(),
                        contact: None,
                        reporter: self.inbound.sender.clone(),
                        anonymous: false,
                    }),
                    receipt_hash: None,
                }));
            }
            (Input::Button(payload::ADD_INFO), Flow::Viewing { case_id }) => {
                self.conversation.flow = Flow::AddingInfo { case_id };
                self.say("add-info-prompt");
            }
            (Input::Button(payload::WITHDRAW), Flow::Viewing { case_id }) => {
                self.conversation.flow = Flow::ConfirmingWithdrawal { case_id };
                let render = self.render();
                self.replies.push(render.choices(
                    render.text("withdraw-confirm"),
                    vec![
                        render.choice("button-withdraw-yes", payload::WITHDRAW_CONFIRM),
                        render.choice("button-cancel", payload::CANCEL),
                    ],
                ));
            }
            (Input::Button(_), _) => self.say_menu("button-expired"),
            (Input::Text(text), _) => self.on_free_text(text)?,
        }
        Ok(())
    }

    /// Text outside any flow: a case code, a receipt, or a question.
    fn on_free_text(&mut self, text: &str) -> anyhow::Result<()> {
        if text.is_empty() {
            self.say_menu("menu-prompt");
            return Ok(());
        }
        if CaseCode::parse(text).is_some() || Receipt::parse(text).is_some() {
            return self.show_case_by_text(text);
        }
        if let Some(link) = link_request(text) {
            self.action = Some(link);
            return Ok(());
        }
        if let Some(code) = enrol_code(text) {
            self.action = Some(Action::Enrol { code });
            return Ok(());
        }
        // Only a staff command needs the sender's role: most texts are residents'
        // questions, and the role is several reads of the store.
        if crate::engine::staff::is_staff_command(text) {
            let role = self.lookup.role_of(&self.inbound.sender)?;
            if role.works_cases() && self.on_staff_command(&role, text)? {
                return Ok(());
            }
        }
        let understood = self.engine.understand(text);
        let (reading, answer) = (&understood.reading, &understood.plan);
        match reading.intent {
            Intent::Follow => match (&reading.code, &reading.receipt) {
                (Some(code), _) => self.show_case_by_code(&code.to_string()),
                (None, Some(receipt)) => self.show_case_by_text(receipt.digits()),
                (None, None) => self.on_menu_button(payload::FOLLOW).map(|_| ()),
            },
            Intent::Complain | Intent::Suggest | Intent::Corruption => {
                self.start_intake_from(reading, text);
                Ok(())
            }
            Intent::Subscribe => self.start_subscribing(),
            Intent::Link => {
                self.action = Some(Action::IssueLinkCode);
                Ok(())
            }
            Intent::Greeting => {
                self.say_menu("greeting");
                Ok(())
            }
            Intent::Thanks => {
                self.say_menu("thanks-reply");
                Ok(())
            }
            Intent::Help => {
                self.say_menu("help-reply");
                Ok(())
            }
            Intent::Plan => {
                if answer.answer == Answer::NotFound {
                    self.not_sure(reading, text, "kb-not-found");
                    return Ok(());
                }
                let render = self.render();
                self.replies.extend(render.answer(answer));
                self.replies.push(render.menu(&render.text("kb-more")));
                Ok(())
            }
            Intent::Unknown => {
                // A question the plan does not answer may go to staff; anything else
                // is not understood.
                let id = if reading.asks {
                    "kb-not-found"
                } else {
                    "not-sure"
                };
                self.not_sure(reading, text, id);
                Ok(())
            }
        }
    }

    /// Nothing certain: say so briefly, and offer the two likeliest actions and staff.
    fn not_sure(&mut self, reading: &Reading, text: &str, id: &str) {
        let question: String = text.chars().take(MAX_TEXT_CHARS).collect();
        self.conversation.flow = Flow::OfferingStaffQuestion { question };
        let render = self.render();
        let mut choices: Vec<Choice> = reading
            .likely_actions(2)
            .into_iter()
            .map(|intent| match intent {
                Intent::Complain => render.choice("menu-complain", payload::COMPLAIN),
                Intent::Suggest => render.choice("menu-suggest", payload::SUGGEST),
                Intent::Corruption => render.choice("menu-corruption", payload::CORRUPTION),
                Intent::Follow => render.choice("menu-follow", payload::FOLLOW),
                _ => render.choice("menu-ask", payload::ASK),
            })
            .collect();
        choices.push(render.choice("button-staff-question", payload::STAFF_QUESTION));
        choices.push(render.choice("button-menu", payload::MENU));
        self.replies.push(render.choices(render.text(id), choices));
    }

    /// Starts the flow of the case the message asks for, with what it already says: its
    /// text as the description when it tells the matter, and a guessed category to
    /// confirm with one tap.
    fn start_intake_from(&mut self, reading: &Reading, text: &str) {
        let Some(kind) = reading.intent.case_kind() else {
            return;
        };
        let description =
            (reading.describes && text.chars().count() <= MAX_TEXT_CHARS).then(|| text.to_owned());
        if kind == CaseKind::Corruption && reading.asks_anonymity {
            self.say("corruption-anonymous-yes");
        }
        self.start_intake(kind);
        if let Flow::Intake(intake) = &mut self.conversation.flow {
            intake.description = description;
            intake.category = reading.category.clone();
        }
        if kind == CaseKind::Corruption {
            // The privacy notice comes first; the category follows it.
            return;
        }
        // Ask again, now with what the message gave.
        self.replies.pop();
        if let Flow::Intake(intake) = self.conversation.flow.clone() {
            self.prompt(&intake);
        }
    }

    fn start_intake(&mut self, kind: CaseKind) {
        let mut intake = Intake {
            kind,
            step: IntakeStep::Category,
            category: None,
            description: None,
            location: None,
            place: None,
            photos: Vec::new(),
            contact: None,
            anonymous: false,
        };
        if kind == CaseKind::Corruption {
            intake.step = IntakeStep::PrivacyNotice;
            let render = self.render();
            let notice = if self.inbound.channel() == Channel::Web {
                render.text("corruption-notice-web")
            } else {
                render.text_with(
                    "corruption-notice-platform",
                    &[("url", &self.engine.settings().office.web_chat_url)],
                )
            };
            self.replies.push(render.choices(
                notice,
                vec![
                    render.choice("button-continue", payload::CONTINUE),
                    render.choice("button-cancel", payload::CANCEL),
                ],
            ));
            self.conversation.flow = Flow::Intake(intake);
            return;
        }
        self.prompt(&intake);
        self.conversation.flow = Flow::Intake(intake);
    }

    /// Asks for what the intake's current step needs.
    fn prompt(&mut self, intake: &Intake) {
        let render = self.render();
        let cancel = render.choice("button-cancel", payload::CANCEL);
        let skip = render.choice("button-skip", payload::SKIP);
        let reply = match intake.step {
            IntakeStep::PrivacyNotice => return,
            IntakeStep::Category => {
                let guess = intake
                    .category
                    .as_deref()
                    .and_then(|id| self.engine.settings().category(id));
                // The guessed category first, so that confirming it is one tap.
                let mut categories: Vec<&crate::config::Category> =
                    self.engine.settings().categories_for(intake.kind).collect();
                if let Some(guess) = guess {
                    categories.retain(|c| c.id != guess.id);
                    categories.insert(0, guess);
                }
                let guessed_id = guess.map(|g| g.id.clone());
                let mut choices: Vec<Choice> = categories
                    .into_iter()
                    .take(super::MAX_CHOICES - 1)
                    .map(|category| Choice {
                        // The guess is marked: one tap confirms it.
                        label: if guessed_id.as_deref() == Some(category.id.as_str()) {
                            format!("✓ {}", category.name(self.lang()))
                        } else {
                            category.name(self.lang()).to_owned()
                        },
                        payload: format!("{}{}", payload::CATEGORY_PREFIX, category.id),
                    })
                    .collect();
                choices.push(cancel);
                let mut text = String::new();
                if let Some(description) = &intake.description {
                    text.push_str(&render.text_with(
                        "intake-description-taken",
                        &[("text", &crate::thai::truncate(description, 120))],
                    ));
                    text.push('\n');
                }
                text.push_str(&match guess {
                    Some(guess) => {
                        render.text_with("category-guess", &[("category", guess.name(self.lang()))])
                    }
                    None => render.text(&format!("category-prompt-{}", intake.kind.as_str())),
                });
                render.choices(text, choices)
            }
            IntakeStep::Description => Outbound::Text {
                text: render.text(&format!("description-prompt-{}", intake.kind.as_str())),
            },
            IntakeStep::Location => render.choices(
                render.text("location-prompt"),
                vec![
                    render.choice("button-share-location", payload::SHARE_LOCATION),
                    skip,
                    cancel,
                ],
            ),
            IntakeStep::Photo => render.choices(
                render.text("photo-prompt"),
                vec![
                    render.choice("button-share-photo", payload::SHARE_PHOTO),
                    skip,
                    cancel,
                ],
            ),
            IntakeStep::Anonymity => render.choices(
                render.text("anonymity-prompt"),
                vec![
                    render.choice("button-anonymous", payload::ANONYMOUS),
                    render.choice("button-named", payload::NAMED),
                    cancel,
                ],
            ),
            IntakeStep::Contact => {
                render.choices(render.text("contact-prompt"), vec![skip, cancel])
            }
            IntakeStep::Confirm => Outbound::Card(render.summary(intake)),
        };
        self.replies.push(reply);
    }

    /// Moves to the next step the intake needs and asks for it.
    fn advance_intake(&mut self) -> anyhow::Result<()> {
        let Flow::Intake(mut intake) = std::mem::take(&mut self.conversation.flow) else {
            return Ok(());
        };
        intake.step = match intake.step {
            IntakeStep::PrivacyNotice => IntakeStep::Category,
            IntakeStep::Category if intake.description.is_some() => IntakeStep::Location,
            IntakeStep::Category => IntakeStep::Description,
            IntakeStep::Description => IntakeStep::Location,
            IntakeStep::Location => IntakeStep::Photo,
            IntakeStep::Photo if intake.kind == CaseKind::Corruption => IntakeStep::Anonymity,
            IntakeStep::Photo => IntakeStep::Contact,
            IntakeStep::Anonymity if intake.anonymous => IntakeStep::Confirm,
            IntakeStep::Anonymity => IntakeStep::Contact,
            IntakeStep::Contact | IntakeStep::Confirm => IntakeStep::Confirm,
        };
        self.prompt(&intake);
        self.conversation.flow = Flow::Intake(intake);
        Ok(())
    }

    fn on_intake(&mut self, mut intake: Intake, input: Input<'_>) -> anyhow::Result<()> {
        let skip = match input {
            Input::Text(text) => is_word(text, SKIP_WORDS) || is_word(text, DONE_WORDS),
            Input::Button(data) => data == payload::SKIP || data == payload::DONE,
        };
        match intake.step {
            IntakeStep::PrivacyNotice => {
                if matches!(input, Input::Button(payload::CONTINUE))
                    || matches!(input, Input::Text(t) if is_word(t, CONFIRM_WORDS))
                {
                    self.conversation.flow = Flow::Intake(intake);
                    return self.advance_intake();
                }
                self.conversation.flow = Flow::Intake(intake.clone());
                self.start_intake(intake.kind);
                return Ok(());
            }
            IntakeStep::Category => {
                let confirms_guess = matches!(input, Input::Text(t) if is_word(t, CONFIRM_WORDS));
                let chosen = self
                    .match_category(intake.kind, &input)
                    .or_else(|| intake.category.clone().filter(|_| confirms_guess));
                // Told the matter instead of tapping a category: keep it as the
                // description and guess the category from it.
                if let (None, Input::Text(text), None) = (&chosen, &input, &intake.description) {
                    if !text.is_empty() && text.chars().count() <= MAX_TEXT_CHARS {
                        intake.description = Some((*text).to_owned());
                        intake.category = self.engine.guess_category(intake.kind, text);
                        self.prompt(&intake);
                        self.conversation.flow = Flow::Intake(intake);
                        return Ok(());
                    }
                }
                let Some(category) = chosen else {
                    self.say("category-invalid");
                    self.prompt(&intake);
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                };
                intake.category = Some(category);
            }
            IntakeStep::Description => {
                let Input::Text(text) = input else {
                    self.say("description-invalid");
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                };
                let n_chars = text.chars().count();
                if text.is_empty() {
                    self.say("description-empty");
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                }
                if n_chars > MAX_TEXT_CHARS {
                    let text = self.render().text_with(
                        "description-too-long",
                        &[
                            ("max", &MAX_TEXT_CHARS.to_string()),
                            ("count", &n_chars.to_string()),
                        ],
                    );
                    self.replies.push(Outbound::Text { text });
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                }
                intake.description = Some(text.to_owned());
            }
            IntakeStep::Location => {
                if !skip {
                    match input {
                        Input::Text(text) => {
                            intake.place = Some(text.chars().take(MAX_PLACE_CHARS).collect());
                        }
                        Input::Button(_) => {
                            self.prompt(&intake);
                            self.conversation.flow = Flow::Intake(intake);
                            return Ok(());
                        }
                    }
                }
            }
            IntakeStep::Photo => {
                if !skip {
                    self.say("photo-expected");
                    self.prompt(&intake);
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                }
            }
            IntakeStep::Anonymity => match input {
                Input::Button(payload::ANONYMOUS) => intake.anonymous = true,
                Input::Button(payload::NAMED) => intake.anonymous = false,
                _ => {
                    self.prompt(&intake);
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                }
            },
            IntakeStep::Contact => {
                if !skip {
                    let Input::Text(text) = input else {
                        self.prompt(&intake);
                        self.conversation.flow = Flow::Intake(intake);
                        return Ok(());
                    };
                    intake.contact = Some(
                        crate::thai::normalize_digits(text)
                            .chars()
                            .take(MAX_CONTACT_CHARS)
                            .collect(),
                    );
                }
            }
            IntakeStep::Confirm => {
                let confirmed = match input {
                    Input::Button(data) => data == payload::CONFIRM,
                    Input::Text(text) => is_word(text, CONFIRM_WORDS),
                };
                if !confirmed {
                    self.prompt(&intake);
                    self.conversation.flow = Flow::Intake(intake);
                    return Ok(());
                }
                return self.file(intake);
            }
        }
        self.conversation.flow = Flow::Intake(intake);
        self.advance_intake()
    }

    fn match_category(&self, kind: CaseKind, input: &Input<'_>) -> Option<String> {
        let settings = self.engine.settings();
        let mut categories = settings.categories_for(kind);
        match input {
            Input::Button(data) => {
                let id = data.strip_prefix(payload::CATEGORY_PREFIX)?;
                categories.find(|c| c.id == id).map(|c| c.id.clone())
            }
            Input::Text(text) => {
                let text = crate::thai::normalize_digits(text).to_lowercase();
                let wanted = text.trim();
                categories
                    .find(|c| c.th == wanted || c.en.to_lowercase() == wanted || c.id == wanted)
                    .map(|c| c.id.clone())
            }
        }
    }

    fn file(&mut self, intake: Intake) -> anyhow::Result<()> {
        let settings = self.engine.settings();
        let category_id = intake.category.clone().unwrap_or_default();
        let division = if intake.kind == CaseKind::Corruption {
            INTEGRITY_DIVISION.to_owned()
        } else {
            settings
                .category(&category_id)
                .map(|c| c.division.clone())
                .unwrap_or_default()
        };
        self.action = Some(Action::Case(CaseChange::File {
            case: Box::new(NewCase {
                kind: intake.kind,
                category: category_id,
                division,
                text: intake.description.unwrap_or_default(),
                location: intake.location,
                place: intake.place,
                photos: intake.photos,
                contact: intake.contact,
                reporter: self.inbound.sender.clone(),
                anonymous: intake.anonymous,
            }),
            receipt_hash: None,
        }));
        self.conversation.flow = Flow::Idle;
        Ok(())
    }

    fn on_awaiting_code(&mut self, input: Input<'_>) -> anyhow::Result<()> {
        match input {
            Input::Text(text)
                if CaseCode::parse(text).is_some() || Receipt::parse(text).is_some() =>
            {
                self.show_case_by_text(text)
            }
            // A code written inside a sentence.
            Input::Text(text) if find_case_code(text).is_some() => {
                let code = find_case_code(text)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                self.show_case_by_code(&code)
            }
            Input::Text(text) if find_receipt(text).is_some() => {
                let receipt = find_receipt(text).map(|r| r.digits().to_owned());
                self.show_case_by_text(&receipt.unwrap_or_default())
            }
            // Words, not a mistyped code: the resident moved on.
            Input::Text(text) if text.chars().any(char::is_alphabetic) => {
                self.conversation.flow = Flow::Idle;
                self.on_free_text(text)
            }
            _ => {
                self.conversation.flow = Flow::AwaitingCode;
                let render = self.render();
                self.replies.push(render.choices(
                    render.text("code-invalid"),
                    vec![render.choice("button-cancel", payload::CANCEL)],
                ));
                Ok(())
            }
        }
    }

    fn show_case_by_text(&mut self, text: &str) -> anyhow::Result<()> {
        if let Some(receipt) = Receipt::parse(text) {
            if !self.take_receipt_try() {
                self.conversation.flow = Flow::Idle;
                self.say_menu("receipt-too-many-tries");
                return Ok(());
            }
            let case = self.lookup.case_by_receipt(&receipt)?;
            return self.show_case(case);
        }
        self.show_case_by_code(text)
    }

    /// Counts a receipt lookup against the sender's allowance: guessing receipts is slow
    /// by design (each is an Argon2 hash), and this keeps it slow for one sender too.
    fn take_receipt_try(&mut self) -> bool {
        let now = self.inbound.received_at;
        let tries = &mut self.conversation.receipt_tries;
        let window = chrono::Duration::minutes(RECEIPT_WINDOW_MINUTES);
        if tries.window_start.is_none_or(|start| now - start >= window) {
            tries.window_start = Some(now);
            tries.count = 0;
        }
        if tries.count >= MAX_RECEIPT_TRIES {
            return false;
        }
        tries.count += 1;
        true
    }

    /// Shows a case to its reporter only; to anybody else it does not exist.
    fn show_case_by_code(&mut self, code: &str) -> anyhow::Result<()> {
        let identities = self.lookup.identities(&self.inbound.sender)?;
        let case = match CaseCode::parse(code) {
            Some(code) => self.lookup.case_by_code(&code)?.filter(|case| {
                case.reporter
                    .as_ref()
                    .is_some_and(|r| identities.contains(r))
            }),
            None => None,
        };
        self.show_case(case)
    }

    fn show_case(&mut self, case: Option<Case>) -> anyhow::Result<()> {
        let render = self.render();
        let Some(case) = case else {
            self.conversation.flow = Flow::Idle;
            self.replies
                .push(render.menu(&render.text("case-not-found")));
            return Ok(());
        };
        self.replies.push(Outbound::Card(render.case(&case)));
        // Quick replies rather than card buttons: every platform shows 6 of those.
        if case.status == Status::Resolved && case.rating.is_none() {
            let text = render.text_with(
                "resident-resolved-rate",
                &[("code", &render.public_code(&case))],
            );
            self.replies
                .push(render.choices(text, render.rating_choices(&case)));
        }
        self.conversation.flow = Flow::Viewing { case_id: case.id };
        Ok(())
    }

    /// A rating or "not fixed" for a resolved case: only from its reporter (any linked
    /// chat) or from whoever has it on screen (an anonymous one, opened by receipt).
    fn on_resolution_feedback(&mut self, data: &str) -> anyhow::Result<bool> {
        let (case_id, stars) = if let Some(rest) = data.strip_prefix(payload::RATE_PREFIX) {
            let Some((id, stars)) = rest.split_once(':') else {
                return Ok(false);
            };
            (
                id.parse::<u64>().ok(),
                stars.parse::<u8>().ok().filter(|s| (1..=5).contains(s)),
            )
        } else if let Some(id) = data.strip_prefix(payload::REOPEN_PREFIX) {
            (id.parse::<u64>().ok(), None)
        } else {
            return Ok(false);
        };
        let Some(case_id) = case_id else {
            return Ok(false);
        };
        let identities = self.lookup.identities(&self.inbound.sender)?;
        let viewing = self.conversation.flow == Flow::Viewing { case_id };
        let case = self.lookup.case(case_id)?.filter(|case| {
            viewing
                || case
                    .reporter
                    .as_ref()
                    .is_some_and(|r| identities.contains(r))
        });
        let Some(case) = case.filter(|c| c.status == Status::Resolved && c.rating.is_none()) else {
            self.say_menu("button-expired");
            return Ok(true);
        };
        self.conversation.flow = Flow::Idle;
        if let Some(stars) = stars {
            self.action = Some(Action::Case(CaseChange::Rate {
                case_id: case.id,
                stars,
            }));
            self.say_menu("rated-thanks");
        } else {
            self.action = Some(Action::Case(CaseChange::Reopen { case_id: case.id }));
            let text = self
                .render()
                .text_with("reopened", &[("code", &self.render().public_code(&case))]);
            self.replies.push(self.render().menu(&text));
        }
        Ok(true)
    }

    /// The case a flow acts on, if the resident may still act on it.
    fn open_case(&self, case_id: u64) -> anyhow::Result<Option<Case>> {
        Ok(self
            .lookup
            .case(case_id)?
            .filter(|case| !case.status.is_closed()))
    }

    fn on_adding_info(&mut self, case_id: u64, input: Input<'_>) -> anyhow::Result<()> {
        let Input::Text(text) = input else {
            self.say("add-info-prompt");
            return Ok(());
        };
        let n_chars = text.chars().count();
        if text.is_empty() || n_chars > MAX_TEXT_CHARS {
            let text = self.render().text_with(
                "description-too-long",
                &[
                    ("max", &MAX_TEXT_CHARS.to_string()),
                    ("count", &n_chars.to_string()),
                ],
            );
            self.replies.push(Outbound::Text { text });
            return Ok(());
        }
        self.conversation.flow = Flow::Idle;
        let Some(case) = self.open_case(case_id)? else {
            self.say_menu("case-closed");
            return Ok(());
        };
        self.action = Some(Action::Case(CaseChange::AddInfo {
            case_id,
            text: text.to_owned(),
        }));
        let render = self.render();
        let text = render.text_with("add-info-done", &[("code", &render.public_code(&case))]);
        self.replies.push(render.menu(&text));
        Ok(())
    }

    fn on_confirming_withdrawal(&mut self, case_id: u64, input: Input<'_>) -> anyhow::Result<()> {
        self.conversation.flow = Flow::Idle;
        if !matches!(input, Input::Button(payload::WITHDRAW_CONFIRM)) {
            self.say_menu("cancelled");
            return Ok(());
        }
        let Some(case) = self.open_case(case_id)? else {
            self.say_menu("case-closed");
            return Ok(());
        };
        self.action = Some(Action::Case(CaseChange::Withdraw { case_id }));
        let render = self.render();
        let text = render.text_with("withdraw-done", &[("code", &render.public_code(&case))]);
        self.replies.push(render.menu(&text));
        Ok(())
    }
}

/// The language a message shows by itself, if any: Thai script shows Thai, and only a
/// clear English sentence English; a short Latin string, a code or an acronym shows none
/// ("asdfgh", "CP-2569-0001", "ITA"). A first message may be a single English word
/// ("hello"), since nothing else is known of its sender; later ones must be sentences to
/// switch.
pub(super) fn language_shown_by(
    engine: &Engine,
    kind: &InboundKind,
    first_message: bool,
) -> Option<Lang> {
    match kind {
        InboundKind::Text(text) if text.chars().any(crate::thai::is_thai) => Some(Lang::Th),
        // A code says nothing of the language its sender reads.
        InboundKind::Text(text)
            if CaseCode::parse(text).is_some()
                || Receipt::parse(text).is_some()
                || enrol_code(text).is_some() =>
        {
            None
        }
        InboundKind::Text(text) => {
            let min_words = if first_message { 1 } else { 2 };
            engine
                .classifier()
                .is_english(text, min_words)
                .then_some(Lang::En)
        }
        _ => None,
    }
}

/// An enrolment code as an admin hands it out: `TB-7KQ2-MX4P`, any case.
fn enrol_code(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    let parts: Vec<&str> = code.split('-').collect();
    let well_formed = parts.len() == 3
        && parts[0] == "TB"
        && parts[1..]
            .iter()
            .all(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_alphanumeric()));
    well_formed.then_some(code)
}

/// "link" alone asks for a code; "link 123456" (Thai digits too) redeems one.
fn link_request(text: &str) -> Option<Action> {
    let text = text.trim();
    let first_word = text.split(char::is_whitespace).next().unwrap_or_default();
    if !could_be_word(first_word, LINK_WORDS) {
        return None;
    }
    let text = crate::thai::normalize_digits(text).to_lowercase();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
    if !LINK_WORDS.contains(&word) {
        return None;
    }
    let code: String = rest
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.is_empty() {
        return Some(Action::IssueLinkCode);
    }
    (code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()))
        .then_some(Action::RedeemLinkCode { code })
}

fn is_word(text: &str, words: &[&str]) -> bool {
    let text = text.trim();
    could_be_word(text, words) && {
        let text = text.to_lowercase();
        words.iter().any(|word| *word == text)
    }
}

/// Whether `text` is short enough to lowercase to one of `words`: a character lowercases
/// to at least a third of its bytes (K, the Kelvin sign, to k), so a longer text cannot.
/// Every message is asked about several command words; this spares lowercasing a whole
/// question for each.
fn could_be_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|word| text.len() <= 3 * word.len())
}
