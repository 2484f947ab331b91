//! Engine tests as short dialogues: what the resident sends, what they would see.

use std::cell::RefCell;
use std::path::Path;

use chrono::Utc;

use super::*;
use crate::domain::case::{CaseEvent, CaseEventKind, NewCase, Status};
use crate::startup::load_engine;

fn engine() -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(&root.join("config/tambon.toml")).unwrap();
    load_engine(&Arc::new(settings)).unwrap()
}

/// Cases the dialogue can look up; filing (`CaseChange::File`) adds one.
#[derive(Default)]
struct Cases(RefCell<Vec<Case>>);

impl Lookup for Cases {
    fn case(&self, case_id: u64) -> anyhow::Result<Option<Case>> {
        Ok(self.0.borrow().iter().find(|c| c.id == case_id).cloned())
    }
    fn case_by_code(&self, code: &CaseCode) -> anyhow::Result<Option<Case>> {
        Ok(self
            .0
            .borrow()
            .iter()
            .find(|c| c.code == code.to_string())
            .cloned())
    }
    fn case_by_receipt(&self, _receipt: &Receipt) -> anyhow::Result<Option<Case>> {
        Ok(None)
    }
    fn identities(&self, chat: &ChatKey) -> anyhow::Result<Vec<ChatKey>> {
        Ok(vec![chat.clone()])
    }
    fn role_of(&self, _chat: &ChatKey) -> anyhow::Result<crate::domain::role::Role> {
        Ok(crate::domain::role::Role::Resident)
    }
    fn open_cases(&self) -> anyhow::Result<Vec<Case>> {
        Ok(self
            .0
            .borrow()
            .iter()
            .filter(|c| !c.status.is_closed())
            .cloned()
            .collect())
    }
    fn subscription(
        &self,
        _chat: &ChatKey,
    ) -> anyhow::Result<Option<crate::domain::update::Subscription>> {
        Ok(None)
    }
    fn audience(
        &self,
        _topic: crate::domain::update::Topic,
        _villages: &[u32],
    ) -> anyhow::Result<usize> {
        Ok(0)
    }
    fn updates_since(
        &self,
        _author: &ChatKey,
        _since: chrono::DateTime<Utc>,
    ) -> anyhow::Result<u32> {
        Ok(0)
    }
    fn actor_label(&self, who: &ChatKey) -> anyhow::Result<String> {
        Ok(format!("staff {}", who.user))
    }
    fn cases_of(&self, reporter: &ChatKey) -> anyhow::Result<Vec<Case>> {
        Ok(self
            .0
            .borrow()
            .iter()
            .filter(|c| c.reporter.as_ref() == Some(reporter))
            .cloned()
            .collect())
    }
}

/// One resident talking to the engine.
struct Dialogue {
    engine: Engine,
    cases: Cases,
    sender: ChatKey,
    conversation: Conversation,
    actions: Vec<Action>,
}

impl Dialogue {
    fn new(channel: Channel) -> Self {
        Self {
            engine: engine(),
            cases: Cases::default(),
            sender: ChatKey::new(channel, "resident-1"),
            conversation: Conversation::default(),
            actions: Vec::new(),
        }
    }

    fn send(&mut self, kind: InboundKind) -> String {
        let inbound = Inbound {
            event_id: None,
            sender: self.sender.clone(),
            conversation: self.sender.user.clone(),
            kind,
            received_at: Utc::now(),
            lang_hint: None,
        };
        let step = self
            .engine
            .step(
                std::mem::take(&mut self.conversation),
                &inbound,
                &self.cases,
            )
            .unwrap();
        self.conversation = step.conversation;
        self.actions.extend(step.action);
        render(&step.replies)
    }

    fn text(&mut self, text: &str) -> String {
        self.send(InboundKind::Text(text.to_owned()))
    }

    fn tap(&mut self, payload: &str) -> String {
        self.send(InboundKind::Postback(payload.to_owned()))
    }

    fn filed(&self) -> &NewCase {
        match self.actions.last() {
            Some(Action::Case(CaseChange::File { case, .. })) => case,
            other => panic!("expected a filing, got {other:?}"),
        }
    }
}

/// Replies as a resident reads them; buttons as `[label|payload]`.
fn render(replies: &[Outbound]) -> String {
    let button = |c: &Choice| format!("[{}|{}]", c.label, c.payload);
    replies
        .iter()
        .map(|reply| match reply {
            Outbound::Text { text } => text.clone(),
            Outbound::QuickReplies { text, choices } => {
                format!(
                    "{text}\n{}",
                    choices.iter().map(button).collect::<Vec<_>>().join(" ")
                )
            }
            Outbound::Card(card) => format!(
                "== {} ==\n{}\n{}",
                card.title,
                card.lines.join("\n"),
                card.buttons
                    .iter()
                    .map(button)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn greeting_offers_the_menu() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.tap("start");
    assert!(seen.contains("สวัสดี"), "{seen}");
    for payload in [
        "|ask]",
        "|suggest]",
        "|complain]",
        "|corrupt]",
        "|follow]",
        "|lang]",
    ] {
        assert!(seen.contains(payload), "{payload} missing in {seen}");
    }
}

#[test]
fn a_complaint_is_guided_to_a_confirmed_filing() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.tap("complain");
    assert!(
        seen.contains("[ถนน ทางระบายน้ำ ไฟฟ้าสาธารณะ|cat:roads]"),
        "{seen}"
    );
    assert!(dialogue.tap("cat:roads").contains("เล่ารายละเอียด"));
    assert!(dialogue.text("ไฟถนนหน้าวัดดับมา ๓ วันแล้ว").contains("สถานที่"));
    assert!(dialogue.text("หน้าวัดบ้านเพชร หมู่ ๓").contains("รูปภาพ"));
    assert!(dialogue
        .send(InboundKind::Image("m1-abc".to_owned()))
        .contains("ได้รับรูปแล้ว 1 รูป"));
    assert!(dialogue.tap("done").contains("เบอร์โทร"));
    let summary = dialogue.text("๐๘๑-๒๓๔-๕๖๗๘");
    assert!(summary.contains("ไฟถนนหน้าวัดดับมา ๓ วันแล้ว"), "{summary}");
    assert!(summary.contains("081-234-5678"), "{summary}");
    assert!(summary.contains("|confirm]"), "{summary}");
    assert!(
        dialogue.actions.is_empty(),
        "nothing is filed before confirmation"
    );
    dialogue.tap("confirm");
    let filed = dialogue.filed();
    assert_eq!(filed.kind, CaseKind::Complaint);
    assert_eq!(filed.category, "roads");
    assert_eq!(filed.division, "engineering");
    assert_eq!(filed.text, "ไฟถนนหน้าวัดดับมา ๓ วันแล้ว");
    assert_eq!(filed.place.as_deref(), Some("หน้าวัดบ้านเพชร หมู่ ๓"));
    assert_eq!(filed.photos, ["m1-abc"]);
    assert_eq!(filed.contact.as_deref(), Some("081-234-5678"));
    assert!(!filed.anonymous);
    assert_eq!(dialogue.conversation.flow, Flow::Idle);
}

#[test]
fn cancel_leaves_any_flow_without_filing() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.tap("suggest");
    dialogue.tap("cat:waste");
    let seen = dialogue.text("ยกเลิก");
    assert!(seen.contains("ยกเลิกแล้ว"), "{seen}");
    assert_eq!(dialogue.conversation.flow, Flow::Idle);
    assert!(dialogue.actions.is_empty());
}

#[test]
fn empty_and_oversized_descriptions_are_asked_again() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.tap("suggest");
    dialogue.tap("cat:waste");
    assert!(dialogue.text("   ").contains("ยังไม่ได้รับรายละเอียด"));
    let seen = dialogue.text(&"ก".repeat(MAX_TEXT_CHARS + 1));
    assert!(seen.contains("5001"), "{seen}");
    assert!(
        matches!(&dialogue.conversation.flow, Flow::Intake(i) if i.step == IntakeStep::Description)
    );
    assert!(dialogue.text("ควรเพิ่มถังขยะที่ตลาด").contains("สถานที่"));
}

#[test]
fn corruption_on_a_platform_warns_and_can_be_anonymous() {
    let mut dialogue = Dialogue::new(Channel::Line);
    let notice = dialogue.tap("corrupt");
    assert!(notice.contains("แอปแชตนี้รู้ว่าท่านเป็นใคร"), "{notice}");
    assert!(notice.contains("http://localhost:8080/"), "{notice}");
    dialogue.tap("continue");
    dialogue.tap("cat:cc-procure");
    dialogue.text("มีการฮั้วประมูลโครงการถนน");
    dialogue.tap("skip");
    let seen = dialogue.tap("skip");
    assert!(seen.contains("|anon:yes]"), "{seen}");
    let summary = dialogue.tap("anon:yes");
    assert!(summary.contains("ไม่ระบุตัวตน"), "{summary}");
    assert!(
        !summary.contains("ช่องทางติดต่อ"),
        "no contact is asked of an anonymous reporter: {summary}"
    );
    dialogue.tap("confirm");
    let filed = dialogue.filed();
    assert_eq!(filed.kind, CaseKind::Corruption);
    assert_eq!(filed.division, crate::config::INTEGRITY_DIVISION);
    assert!(filed.anonymous);
    assert_eq!(filed.contact, None);
}

#[test]
fn corruption_on_the_web_chat_needs_no_platform_warning() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let notice = dialogue.tap("corrupt");
    assert!(!notice.contains("แอปแชตนี้รู้ว่าท่านเป็นใคร"), "{notice}");
    assert!(notice.contains("ไม่ระบุตัวตน"), "{notice}");
}

fn stored_case(reporter: &ChatKey) -> Case {
    let now = Utc::now();
    Case {
        v: 1,
        id: 7,
        code: "CP-2569-0007".to_owned(),
        kind: CaseKind::Complaint,
        category: "roads".to_owned(),
        division: "engineering".to_owned(),
        text: "ถนนเป็นหลุม".to_owned(),
        location: None,
        place: None,
        photos: Vec::new(),
        contact: None,
        reporter: Some(reporter.clone()),
        anonymous: false,
        status: Status::InProgress,
        created_at: now,
        assignee: None,
        channel: Some(Channel::Line),
        co_divisions: Vec::new(),
        notes: Vec::new(),
        rating: None,
        reopen_count: 0,
        events: vec![
            CaseEvent {
                at: now,
                kind: CaseEventKind::Filed,
            },
            CaseEvent {
                at: now,
                kind: CaseEventKind::StatusChanged {
                    to: Status::InProgress,
                },
            },
            CaseEvent {
                at: now,
                kind: CaseEventKind::StaffAnswer {
                    text: "ส่งช่างไปดูแล้วค่ะ".to_owned(),
                },
            },
        ],
    }
}

#[test]
fn a_case_is_shown_to_its_reporter_only() {
    let mut owner = Dialogue::new(Channel::Web);
    owner.cases.0.borrow_mut().push(stored_case(&owner.sender));
    let seen = owner.text("cp-๒๕๖๙-๗");
    assert!(seen.contains("== CP-2569-0007 =="), "{seen}");
    assert!(seen.contains("กำลังดำเนินการ"), "{seen}");
    assert!(seen.contains("เจ้าหน้าที่ตอบ: ส่งช่างไปดูแล้วค่ะ"), "{seen}");
    assert!(seen.contains("|withdraw]"), "{seen}");

    let mut stranger = Dialogue::new(Channel::Web);
    stranger.sender = ChatKey::new(Channel::Web, "someone-else");
    stranger
        .cases
        .0
        .borrow_mut()
        .push(stored_case(&owner.sender));
    let seen = stranger.text("CP-2569-0007");
    assert!(
        seen.contains("ไม่พบเรื่อง"),
        "a code does not switch the language: {seen}"
    );
    assert!(!seen.contains("ถนน"), "{seen}");
}

#[test]
fn the_reporter_can_add_information_and_withdraw() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue
        .cases
        .0
        .borrow_mut()
        .push(stored_case(&dialogue.sender));
    dialogue.tap("follow");
    dialogue.text("CP-2569-0007");
    dialogue.tap("add");
    let seen = dialogue.text("หลุมลึกขึ้นหลังฝนตก");
    assert!(seen.contains("CP-2569-0007"), "{seen}");
    assert_eq!(
        dialogue.actions.last(),
        Some(&Action::Case(CaseChange::AddInfo {
            case_id: 7,
            text: "หลุมลึกขึ้นหลังฝนตก".to_owned()
        }))
    );
    dialogue.text("CP-2569-0007");
    dialogue.tap("withdraw");
    dialogue.tap("withdraw:yes");
    assert_eq!(
        dialogue.actions.last(),
        Some(&Action::Case(CaseChange::Withdraw { case_id: 7 }))
    );
}

#[test]
fn questions_are_answered_in_the_language_they_are_asked() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.text("What was the OIT score?");
    assert!(seen.contains("37.50"), "{seen}");
    assert!(seen.contains("Corruption prevention"), "{seen}");
    let seen = dialogue.text("กองคลังรับผิดชอบเรื่องอะไร");
    assert!(seen.contains("กองคลัง รับผิดชอบ 5 เรื่อง"), "{seen}");
}

#[test]
fn an_unanswerable_question_can_go_to_staff() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.text("ตลาดนัดเปิดวันไหน");
    assert!(seen.contains("ไม่พบเรื่องนี้"), "{seen}");
    assert!(seen.contains("|staffq]"), "{seen}");
    dialogue.tap("staffq");
    let filed = dialogue.filed();
    assert_eq!(filed.kind, CaseKind::Question);
    assert_eq!(filed.text, "ตลาดนัดเปิดวันไหน");
    assert_eq!(filed.division, "office");
}

#[test]
fn a_chosen_language_sticks() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.tap("lang:en");
    let seen = dialogue.text("ความคืบหน้า");
    assert!(
        seen.contains("Progress of the ITA improvement plan"),
        "{seen}"
    );
}

#[test]
fn unsupported_events_are_ignored() {
    let mut dialogue = Dialogue::new(Channel::Line);
    dialogue.tap("suggest");
    let before = dialogue.conversation.clone();
    assert_eq!(
        dialogue.send(InboundKind::Unsupported("beacon".to_owned())),
        ""
    );
    assert_eq!(dialogue.conversation, before);
}

#[test]
fn every_message_id_exists_in_both_languages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ids = |lang: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(root.join(format!("locales/{lang}/main.ftl")))
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .filter(|id| !id.starts_with('#'))
            .collect()
    };
    assert_eq!(ids("th"), ids("en"));
    // Every id the engine asks for exists (a missing one would show as its id).
    let engine = engine();
    for id in ids("th") {
        assert_ne!(engine.locales().text(Lang::Th, &id), id);
    }
}

#[test]
fn receipt_guessing_is_limited_per_sender() {
    let mut dialogue = Dialogue::new(Channel::Web);
    for n in 0..5 {
        let seen = dialogue.text(&format!("1234 5678 9012 345{n}"));
        assert!(seen.contains("ไม่พบเรื่อง"), "{seen}");
    }
    let seen = dialogue.text("1234 5678 9012 3459");
    assert!(seen.contains("หลายครั้งเกินไป"), "{seen}");
}

mod understanding;

#[test]
fn a_problem_told_plainly_is_filed_without_typing_it_again() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let told = "ถนนหน้าบ้านเป็นหลุม รถล้มไปสองคันแล้ว";
    let seen = dialogue.text(told);
    assert!(seen.contains(&format!("“{told}”")), "{seen}");
    // The guessed category comes first: one tap confirms it.
    assert!(
        seen.contains("หมวด “ถนน ทางระบายน้ำ ไฟฟ้าสาธารณะ” แตะเพื่อยืนยัน หรือเลือกหมวดอื่นค่ะ\n[✓ ถนน ทางระบายน้ำ ไฟฟ้าสาธารณะ|cat:roads]"),
        "{seen}"
    );
    // Then the place, not the description again.
    let seen = dialogue.tap("cat:roads");
    assert!(seen.contains("สถานที่"), "{seen}");
    assert!(!seen.contains("เล่ารายละเอียด"), "{seen}");
    dialogue.tap("skip");
    dialogue.tap("skip");
    let summary = dialogue.tap("skip");
    assert!(summary.contains(told), "{summary}");
    dialogue.tap("confirm");
    let filed = dialogue.filed();
    assert_eq!(filed.kind, CaseKind::Complaint);
    assert_eq!(filed.category, "roads");
    assert_eq!(filed.division, "engineering");
    assert_eq!(filed.text, told);
}

#[test]
fn asking_to_report_corruption_anonymously_is_answered_yes() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.text("อยากแจ้งทุจริตแต่ไม่อยากบอกชื่อได้มั้ยคะ");
    assert!(
        seen.starts_with("ได้ค่ะ แจ้งเบาะแสการทุจริตแบบไม่ระบุตัวตนได้"),
        "{seen}"
    );
    // The privacy notice follows, then the guided report.
    assert!(seen.contains("|continue]"), "{seen}");
    let seen = dialogue.tap("continue");
    assert!(seen.contains("|cat:cc-bribe]"), "{seen}");
}

#[test]
fn only_a_clear_english_sentence_switches_the_language() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.text("สวัสดีค่ะ");
    for text in ["asdfgh", "EIT", "CP-2569-0099", "ok"] {
        let seen = dialogue.text(text);
        assert!(seen.chars().any(crate::thai::is_thai), "{text}: {seen}");
    }
    let seen = dialogue.text("who handles the budget report?");
    assert!(seen.contains("Responsible: Finance Division"), "{seen}");
    // Thai script switches back at once.
    let seen = dialogue.text("ขอบคุณค่ะ");
    assert!(seen.contains("ยินดีค่ะ"), "{seen}");
}

#[test]
fn a_short_answer_offers_the_whole_item() {
    let mut dialogue = Dialogue::new(Channel::Web);
    let seen = dialogue.text("รายงานรอบ ๖ เดือนมีไหม");
    assert!(seen.contains("รอบ ๖ เดือน"), "{seen}");
    assert!(seen.contains("[ดูทั้งหมด|kb:iit-1]"), "{seen}");
    let whole = dialogue.tap("kb:iit-1");
    // Guidelines are part of the whole item even though it has measures.
    assert!(whole.contains("แนวทางการดำเนินการ:"), "{whole}");
    assert!(whole.contains("มาตรการ:"), "{whole}");
    assert!(whole.contains("อบต.บ้านเพชร"), "{whole}");
    assert!(!whole.contains("อบต.บ้าน เพชร"), "{whole}");
    let seen = dialogue.tap("kb:no-such-item");
    assert!(seen.contains("ปุ่มนี้หมดอายุ"), "{seen}");
}

#[test]
fn the_matter_typed_where_a_category_was_asked_is_kept() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.tap("corrupt");
    dialogue.tap("continue");
    let told = "เจ้าหน้าที่เรียกเงินใต้โต๊ะตอนขออนุญาตก่อสร้าง ๕๐๐๐ บาท";
    let seen = dialogue.text(told);
    assert!(seen.contains(&format!("“{told}”")), "{seen}");
    assert!(seen.contains("“การเรียกรับสินบน” แตะเพื่อยืนยัน"), "{seen}");
    // One tap confirms; the description is not asked again.
    let seen = dialogue.tap("cat:cc-bribe");
    assert!(seen.contains("สถานที่"), "{seen}");
}

#[test]
fn words_where_a_code_was_asked_are_read_as_a_new_message() {
    let mut dialogue = Dialogue::new(Channel::Web);
    dialogue.tap("follow");
    let seen = dialogue.text("12345");
    assert!(
        seen.contains("|cancel]"),
        "a mistyped code is asked again: {seen}"
    );
    let seen = dialogue.text("ไฟถนนดับ");
    assert!(seen.contains("“ไฟถนนดับ”"), "{seen}");
}

/// Command words are read whatever their case and their digits (a Kelvin sign "K"
/// lowercases to "k" too), with spaces around them.
#[test]
fn command_words_are_read_in_any_case_and_only_alone() {
    let mut dialogue = Dialogue::new(Channel::Line);
    dialogue.text("LINK");
    dialogue.text("Lin\u{212A} ๑๒๓๔๕๖");
    dialogue.text("เชื่อม 123 456");
    assert_eq!(
        dialogue.actions,
        vec![
            Action::IssueLinkCode,
            Action::RedeemLinkCode {
                code: "123456".to_owned()
            },
            Action::RedeemLinkCode {
                code: "123456".to_owned()
            },
        ]
    );
    dialogue.tap("suggest");
    assert!(dialogue.text("ยกเลิก").contains("ยกเลิกแล้ว"));
    dialogue.tap("suggest");
    assert!(dialogue.text("  ยกเลิก  ").contains("ยกเลิกแล้ว"));
}

/// Replies read back as they were written (deliveries and held messages store them):
/// every kind, whatever the order of its fields; one with a field missing is refused,
/// not filled in.
#[test]
fn replies_read_back_as_written() {
    let choice = |label: &str, payload: &str| Choice {
        label: label.into(),
        payload: payload.into(),
    };
    let replies = vec![
        Outbound::Text {
            text: "สวัสดีค่ะ ๑๒๓".into(),
        },
        Outbound::QuickReplies {
            text: "เลือกเมนู".into(),
            choices: vec![choice("ถามเรื่องมาตรการ", "ask"), choice("Menu", "menu")],
        },
        Outbound::Card(Card {
            title: "CP-2569-0001".into(),
            lines: vec!["สถานะ: รับเรื่องแล้ว".into()],
            buttons: Vec::new(),
        }),
    ];
    let json = serde_json::to_string(&replies).unwrap();
    assert!(json.contains(r#""type":"quick_replies""#), "{json}");
    let read: Vec<Outbound> = serde_json::from_str(&json).unwrap();
    assert_eq!(read, replies);

    let reordered: Outbound =
        serde_json::from_str(r#"{"text":"hi","type":"text","unknown":1}"#).unwrap();
    assert_eq!(reordered, Outbound::Text { text: "hi".into() });
    let error =
        serde_json::from_str::<Outbound>(r#"{"type":"quick_replies","text":"hi"}"#).unwrap_err();
    assert!(error.to_string().contains("choices"), "{error}");
    assert!(serde_json::from_str::<Outbound>(r#"{"type":"sticker"}"#).is_err());
}
