//! Properties of the conversation engine, run through the real `Inbox` over a real
//! store: random sequences of what residents send (their usual messages, random text,
//! every menu button, Thai digits, locations, photos). Nothing panics and every fresh
//! message is answered; a redelivered event gets the answer kept the first time and
//! files nothing; and a conversation cut by a restart (the store closed and opened
//! again) goes on exactly as it would have without it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tambon::config::Settings;
use tambon::domain::{Channel, ChatKey, Location};
use tambon::engine::{Engine, Inbound, InboundKind, Outbound};
use tambon::inbox::{Handled, Inbox};
use tambon::store::{Media, Store};
use tokio::runtime::Runtime;

use crate::strategies::awkward_text;

/// What residents write, in Thai (with Thai digits) and English.
const RESIDENT_TEXTS: &[&str] = &[
    "สวัสดี",
    "สวัสดีค่ะ",
    "เมนู",
    "ยกเลิก",
    "ยืนยัน",
    "ตกลง",
    "ข้าม",
    "เสร็จแล้ว",
    "ไม่มี",
    "ใช่",
    "ถนนหน้าบ้านเป็นหลุมเป็นบ่อ ซ่อมให้หน่อยค่ะ",
    "ไฟถนนดับที่หมู่ ๕ มาสามวันแล้ว",
    "ขยะไม่มีคนมาเก็บเลย ส่งกลิ่นเหม็นมาก",
    "น้ำประปาไม่ไหลตั้งแต่เมื่อวาน",
    "อยากเสนอให้มีลานกีฬาสำหรับเด็กในหมู่บ้าน",
    "เจ้าหน้าที่เรียกรับเงินตอนขออนุญาตก่อสร้าง",
    "ใครรับผิดชอบเรื่อง ITA",
    "แผนปรับปรุง OIT ทำเสร็จหรือยัง",
    "ประเมิน ITA ปี๖๗ ได้กี่คะแนน",
    "ติดตามเรื่อง",
    "ตรวจสอบสถานะเรื่องร้องเรียน",
    "ซอย ๓ หน้าวัด",
    "บ้านเลขที่ ๑๒/๓ หมู่ ๔",
    "๐๘๑๒๓๔๕๖๗๘",
    "081-234-5678",
    "CP-2569-0001",
    "SG-๒๕๖๙-๐๐๐๑",
    "1234 5678 9012 3456",
    "รับข่าว",
    "หยุด",
    "ประกาศ",
    "link",
    "hello",
    "menu",
    "cancel",
    "yes",
    "skip",
    "done",
    "I want to report a broken street light near the school",
    "Who is responsible for the ITA improvement plan?",
    "ok",
    "😀🙏",
];

/// Every button the engine shows residents, and some it never does.
const PAYLOADS: &[&str] = &[
    "start",
    "menu",
    "ask",
    "suggest",
    "complain",
    "corrupt",
    "follow",
    "lang",
    "lang:th",
    "lang:en",
    "cat:roads",
    "cat:water",
    "cat:waste",
    "cat:welfare",
    "cat:other",
    "cat:question",
    "cat:cc-bribe",
    "cat:nonexistent",
    "case:CP-2569-0001",
    "case:SG-2569-0001",
    "case:garbage",
    "continue",
    "skip",
    "done",
    "confirm",
    "cancel",
    "anon:yes",
    "anon:no",
    "add",
    "withdraw",
    "withdraw:yes",
    "staffq",
    "link",
    "sub",
    "sub:stop",
    "upd",
    "rate:1:5",
    "rate:1:9",
    "reopen:1",
    "kb:iit-1",
    "kb:oit-1",
    "kb:nothing",
    "st:take:1",
    "@location",
    "@photo",
    "",
];

/// One thing a resident sends.
#[derive(Clone, Debug)]
enum Message {
    Text(String),
    Tap(String),
    Location(f64, f64, Option<String>),
    Photo,
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        6 => prop::sample::select(RESIDENT_TEXTS).prop_map(|t| Message::Text(t.to_owned())),
        2 => awkward_text().prop_map(Message::Text),
        6 => prop::sample::select(PAYLOADS).prop_map(|p| Message::Tap(p.to_owned())),
        1 => (5.0..21.0f64, 97.0..106.0f64, prop::option::of(awkward_text()))
            .prop_map(|(lat, long, address)| Message::Location(lat, long, address)),
        2 => Just(Message::Photo),
    ]
}

/// A whole intake as a resident taps and types it, to the confirmation: random
/// messages alone rarely get that far, and filed cases are what must survive.
fn intake() -> impl Strategy<Value = Vec<Message>> {
    let kind = prop_oneof![
        Just((
            "complain",
            vec!["cat:roads", "cat:water", "cat:waste", "cat:other"]
        )),
        Just((
            "suggest",
            vec!["cat:roads", "cat:welfare", "cat:education", "cat:other"]
        )),
        Just((
            "corrupt",
            vec!["cat:cc-bribe", "cat:cc-procure", "cat:cc-abuse"]
        )),
    ];
    (
        kind,
        any::<Index>(),
        prop::sample::select(&RESIDENT_TEXTS[10..21]),
        prop_oneof![
            (5.0..21.0f64, 97.0..106.0f64)
                .prop_map(|(lat, long)| Message::Location(lat, long, None)),
            Just(Message::Tap("skip".to_owned())),
            Just(Message::Text("ซอย ๓ หน้าวัด".to_owned())),
        ],
        0..3usize,
        any::<bool>(),
        prop::option::of(Just("๐๘๑๒๓๔๕๖๗๘")),
    )
        .prop_map(
            |((kind, categories), category, description, place, n_photos, anonymous, contact)| {
                let tap = |payload: &str| Message::Tap(payload.to_owned());
                let mut script = vec![tap(kind)];
                if kind == "corrupt" {
                    script.push(tap("continue"));
                }
                script.push(tap(category.get::<&str>(&categories)));
                script.push(Message::Text(description.to_owned()));
                script.push(place);
                script.extend(std::iter::repeat_n(Message::Photo, n_photos));
                script.push(tap(if n_photos == 0 { "skip" } else { "done" }));
                if kind == "corrupt" {
                    script.push(tap(if anonymous { "anon:yes" } else { "anon:no" }));
                }
                if kind != "corrupt" || !anonymous {
                    script.push(match contact {
                        Some(number) => Message::Text(number.to_owned()),
                        None => tap("skip"),
                    });
                }
                script.push(tap("confirm"));
                script
            },
        )
}

/// A conversation: single messages and whole intakes, in any order.
fn messages(max_parts: usize) -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec(
        prop_oneof![
            3 => message().prop_map(|message| vec![message]),
            1 => intake(),
        ],
        1..max_parts,
    )
    .prop_map(|parts| parts.into_iter().flatten().collect())
}

/// The engine, loaded once for every property (the segmenter takes a while).
fn engine() -> &'static (Arc<Settings>, Engine) {
    static ENGINE: OnceLock<(Arc<Settings>, Engine)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Arc::new(Settings::load(&root.join("config/tambon.toml")).unwrap());
        let engine = tambon::startup::load_engine(&settings).unwrap();
        (settings, engine)
    })
}

fn inbox(store: Store) -> Arc<Inbox> {
    let (settings, engine) = engine();
    Arc::new(
        Inbox::new(
            engine.clone(),
            store,
            Arc::clone(settings),
            Arc::new(tokio::sync::Notify::new()),
        )
        .unwrap(),
    )
}

const SESSION: &str = "property-resident-0001";

fn resident() -> ChatKey {
    ChatKey::new(Channel::Web, SESSION)
}

/// The moment of the `n`th message: fixed, so that two runs of a sequence agree.
fn at(n: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 6, 2, 0, 0).unwrap() + chrono::Duration::minutes(n as i64)
}

/// The `n`th message as the web chat hands it to the inbox (a photo is stored first,
/// as the upload does).
fn inbound(store: &Store, n: usize, message: &Message) -> Inbound {
    let kind = match message {
        Message::Text(text) => InboundKind::Text(text.clone()),
        Message::Tap(payload) => InboundKind::Postback(payload.clone()),
        Message::Location(latitude, longitude, address) => InboundKind::Location(Location {
            latitude: *latitude,
            longitude: *longitude,
            address: address.clone(),
        }),
        Message::Photo => {
            let media = Media {
                content_type: "image/jpeg".to_owned(),
                bytes: b"\xff\xd8\xff\xe0 a photo".to_vec(),
            };
            InboundKind::Image(store.save_media(&media).unwrap())
        }
    };
    Inbound {
        event_id: Some(format!("{SESSION}:ev{n}")),
        sender: resident(),
        conversation: SESSION.to_owned(),
        kind,
        received_at: at(n),
        lang_hint: None,
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `test` on `cases` values of `strategy`, each with the one runtime.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(&Runtime, S::Value) -> Result<(), TestCaseError>,
) {
    // PROPTEST_CASES asks for more (or fewer), as for the other properties.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    let runtime = runtime();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(error) = runner.run(&strategy, |value| test(&runtime, value)) {
        panic!("{error}");
    }
}

fn send(runtime: &Runtime, inbox: &Arc<Inbox>, inbound: Inbound) -> Result<Handled, TestCaseError> {
    let what = format!("{:?}", inbound.kind);
    runtime
        .block_on(inbox.handle(inbound))
        .map_err(|error| TestCaseError::fail(format!("{what} failed: {error:?}")))
}

/// Replies a resident can read: at least one, none of them blank.
fn is_answer(replies: &[Outbound]) -> bool {
    !replies.is_empty()
        && replies.iter().all(|reply| match reply {
            Outbound::Text { text } | Outbound::QuickReplies { text, .. } => {
                !text.trim().is_empty()
            }
            Outbound::Card(card) => !card.title.trim().is_empty() || !card.lines.is_empty(),
        })
}

/// How many cases the store holds for the resident, and open in all (an anonymous case
/// has no reporter: it shows only in the second number).
fn n_cases(store: &Store) -> (usize, usize) {
    (
        store.cases_of(&resident()).unwrap().len(),
        store.open_cases().count(),
    )
}

/// Replies as text, with what is random in them (receipts, link codes) masked: every
/// run of four or more digits that is not part of a case code (`CP-2569-0001`).
fn normalised(replies: &[Outbound]) -> String {
    let text = serde_json::to_string(replies).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let in_code = i > 0 && chars[i - 1] == '-';
        if run >= 4 && !in_code {
            out.push('#');
            i += run;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn every_fresh_message_gets_an_answer() {
    check(64, messages(6), |runtime, messages| {
        let store = Store::temporary().unwrap();
        let inbox = inbox(store.clone());
        for (n, message) in messages.iter().enumerate() {
            match send(runtime, &inbox, inbound(&store, n, message))? {
                Handled::Replies(replies) => prop_assert!(
                    is_answer(&replies),
                    "{message:?} after {:?} was answered {replies:?}",
                    &messages[..n]
                ),
                Handled::Duplicate(_) => prop_assert!(false, "a fresh event taken as a duplicate"),
            }
        }
        Ok(())
    });
}

#[test]
fn a_redelivery_gets_the_kept_answer_and_files_nothing() {
    // Each message, then perhaps a redelivery of it or of an earlier one.
    let steps = (
        messages(6),
        prop::collection::vec(prop::option::weighted(0.4, any::<Index>()), 64),
    );
    check(64, steps, |runtime, (messages, redeliveries)| {
        let steps = messages.iter().zip(redeliveries);
        let store = Store::temporary().unwrap();
        let inbox = inbox(store.clone());
        let mut sent: Vec<Inbound> = Vec::new();
        let mut first_answers: Vec<Vec<Outbound>> = Vec::new();
        // Whether the event filed an anonymous case: its live answer showed the receipt,
        // which is never kept; the kept answer shows a notice instead.
        let mut filed_anonymously: Vec<bool> = Vec::new();
        let mut kept_answers: Vec<Option<Vec<Outbound>>> = Vec::new();
        for (n, (message, redeliver)) in steps.enumerate() {
            let event = inbound(&store, n, message);
            let before = n_cases(&store);
            let Handled::Replies(replies) = send(runtime, &inbox, event.clone())? else {
                return Err(TestCaseError::fail("a fresh event taken as a duplicate"));
            };
            let after = n_cases(&store);
            sent.push(event);
            first_answers.push(replies);
            filed_anonymously.push(after.1 > before.1 && after.0 == before.0);
            kept_answers.push(None);

            let Some(which) = redeliver else { continue };
            let j = which.index(sent.len());
            let state = store.conversation(&resident()).unwrap();
            let cases = n_cases(&store);
            let Handled::Duplicate(replies) = send(runtime, &inbox, sent[j].clone())? else {
                return Err(TestCaseError::fail(format!("event {j} processed twice")));
            };
            prop_assert_eq!(n_cases(&store), cases, "a redelivery changed the cases");
            prop_assert_eq!(store.conversation(&resident()).unwrap(), state);
            prop_assert!(
                is_answer(&replies),
                "redelivery of {:?} answered {replies:?}",
                sent[j].kind
            );
            if filed_anonymously[j] {
                if let Some(kept) = &kept_answers[j] {
                    prop_assert_eq!(&replies, kept);
                }
                kept_answers[j] = Some(replies);
            } else {
                prop_assert_eq!(
                    &replies,
                    &first_answers[j],
                    "redelivery of {:?}",
                    sent[j].kind
                );
            }
        }
        Ok(())
    });
}

#[test]
fn a_conversation_goes_on_across_a_restart_as_without_it() {
    check(
        48,
        (messages(6), any::<Index>()),
        |runtime, (messages, cut)| {
            let cut = cut.index(messages.len() + 1);

            // The whole sequence on one store.
            let store = Store::temporary().unwrap();
            let inbox = inbox(store.clone());
            let mut without_restart = Vec::new();
            for (n, message) in messages.iter().enumerate() {
                without_restart.push(normalised(
                    send(runtime, &inbox, inbound(&store, n, message))?.replies(),
                ));
            }
            let codes_without: Vec<String> = store
                .cases_of(&resident())
                .unwrap()
                .into_iter()
                .map(|c| c.code)
                .collect();
            let n_open_without = store.open_cases().count();

            // The same, with the store closed after `cut` messages and opened again.
            let data_dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(data_dir.path()).unwrap();
            let mut inbox = self::inbox(store.clone());
            let mut with_restart = Vec::new();
            for (n, message) in messages.iter().enumerate() {
                if n == cut {
                    let filed: Vec<String> = store
                        .cases_of(&resident())
                        .unwrap()
                        .into_iter()
                        .map(|c| c.code)
                        .collect();
                    drop(inbox);
                    drop(store);
                    store = crate::helpers::reopen(data_dir.path());
                    inbox = self::inbox(store.clone());
                    for code in &filed {
                        let code = tambon::domain::case::CaseCode::parse(code).unwrap();
                        prop_assert!(store.case_by_code(&code).unwrap().is_some(), "{code} lost");
                    }
                    let found: Vec<String> = store
                        .cases_of(&resident())
                        .unwrap()
                        .into_iter()
                        .map(|c| c.code)
                        .collect();
                    prop_assert_eq!(found, filed);
                }
                with_restart.push(normalised(
                    send(runtime, &inbox, inbound(&store, n, message))?.replies(),
                ));
            }
            for (n, (without, with)) in without_restart.iter().zip(&with_restart).enumerate() {
                prop_assert_eq!(
                    without,
                    with,
                    "message {} of {:?} (restart before message {})",
                    n,
                    messages,
                    cut
                );
            }
            let codes_with: Vec<String> = store
                .cases_of(&resident())
                .unwrap()
                .into_iter()
                .map(|c| c.code)
                .collect();
            prop_assert_eq!(codes_with, codes_without);
            prop_assert_eq!(store.open_cases().count(), n_open_without);
            Ok(())
        },
    );
}
