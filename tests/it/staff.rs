//! Staff in chat: enrolment codes, the division queue, who sees what, answers reaching
//! the resident on their own channel, and the hash-chained audit log.

use serde_json::{json, Value};
use tambon::domain::role::Role;
use tambon::domain::{Channel, ChatKey};

use crate::helpers::{eventually, reopen, Resident, TestApp};
use crate::line_fake::FakeLine;

const RESIDENT: &str = "U0000000000000000000000000resident";

fn line_event(n: usize, kind: &str, extra: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind, "mode": "active", "timestamp": chrono::Utc::now().timestamp_millis(),
        "source": { "type": "user", "userId": RESIDENT },
        "webhookEventId": format!("01STAFF{n:019}"),
        "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("staff-token-{n}"),
    });
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap()
}

fn postback(n: usize, data: &str) -> Vec<u8> {
    line_event(n, "postback", json!({ "postback": { "data": data } }))
}

fn text(n: usize, text: &str) -> Vec<u8> {
    line_event(
        n,
        "message",
        json!({ "message": { "id": format!("sm{n}"), "type": "text", "text": text } }),
    )
}

async fn line_turn(app: &TestApp, line: &FakeLine, body: Vec<u8>) {
    let before = line.requests_to("/v2/bot/message/reply").len();
    assert_eq!(app.post_line(&body).await, 200);
    eventually("a LINE reply", || {
        line.requests_to("/v2/bot/message/reply").len() > before
    })
    .await;
}

fn pushed_to_resident(line: &FakeLine) -> Vec<String> {
    line.requests_to("/v2/bot/message/push")
        .into_iter()
        .filter(|r| r.body["to"] == RESIDENT)
        .map(|r| r.body["messages"].to_string())
        .collect()
}

#[tokio::test]
async fn staff_enrol_work_their_division_and_answers_reach_the_resident_on_line() {
    let dir = tempfile::tempdir().unwrap();
    let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
    let (engineer_code, finance_code, integrity_code, expired_code) = {
        let store = reopen(dir.path());
        let engineering = Role::Staff {
            division: "engineering".to_owned(),
        };
        let finance = Role::Staff {
            division: "finance".to_owned(),
        };
        let codes = (
            store.create_enrol_code(&engineering, in_a_day).unwrap(),
            store.create_enrol_code(&finance, in_a_day).unwrap(),
            store
                .create_enrol_code(&Role::IntegrityOfficer, in_a_day)
                .unwrap(),
            store
                .create_enrol_code(
                    &engineering,
                    chrono::Utc::now() - chrono::Duration::minutes(1),
                )
                .unwrap(),
        );
        store.sync_blocking().unwrap();
        codes
    };
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let complaint = format!("CP-{year}-0001");
    let corruption = format!("CC-{year}-0001");

    // A resident on LINE files a complaint about a road, and a named corruption complaint.
    for (n, body) in [
        postback(1, "complain"),
        postback(2, "cat:roads"),
        text(3, "ถนนหน้าตลาดทรุดเป็นหลุมลึก"),
        postback(4, "skip"),
        postback(5, "skip"),
        text(6, "089-111-2222"),
        postback(7, "confirm"),
        postback(8, "corrupt"),
        postback(9, "continue"),
        postback(10, "cat:cc-procure"),
        text(11, "มีการล็อกสเปกในการจัดซื้อรถขยะ"),
        postback(12, "skip"),
        postback(13, "skip"),
        postback(14, "anon:no"),
        text(15, "081-999-0000"),
        postback(16, "confirm"),
    ]
    .into_iter()
    .enumerate()
    {
        line_turn(&app, &line, body).await;
        let _ = n;
    }

    // An engineer enrols from the web chat; the code then is spent.
    let engineer = Resident::new(&app, "engineer");
    let seen = engineer.text(&engineer_code.to_lowercase()).await;
    assert!(
        seen.contains("ลงทะเบียนแล้ว") && seen.contains("กองช่าง"),
        "{seen}"
    );
    let copycat = Resident::new(&app, "copycat");
    assert!(copycat.text(&engineer_code).await.contains("ใช้ไม่ได้"));
    assert!(
        copycat.text(&expired_code).await.contains("ใช้ไม่ได้"),
        "an expired code does nothing"
    );
    assert!(
        !copycat.text("คิว").await.contains(&complaint),
        "a resident has no queue"
    );

    // The engineer's queue holds the road, never the corruption complaint.
    let seen = engineer.text("คิว").await;
    assert!(seen.contains(&complaint), "{seen}");
    assert!(!seen.contains(&corruption), "{seen}");
    let seen = engineer.text(&format!("เปิด {corruption}")).await;
    assert!(seen.contains("ไม่พบเรื่องนี้ในคิวของท่าน"), "{seen}");
    assert!(!seen.contains("081-999-0000"));
    let seen = engineer.text(&format!("เปิด {complaint}")).await;
    assert!(
        seen.contains("ถนนหน้าตลาดทรุดเป็นหลุมลึก") && seen.contains("089-111-2222"),
        "{seen}"
    );

    // Another division's staff cannot open it.
    let accountant = Resident::new(&app, "accountant");
    accountant.text(&finance_code).await;
    assert!(accountant
        .text(&format!("open {complaint}"))
        .await
        .contains("No such case"));

    // The answer and the status reach the resident on LINE, pushed.
    let seen = engineer
        .text(&format!("ตอบ {complaint} ช่างจะเข้าไปซ่อมวันพรุ่งนี้"))
        .await;
    assert!(seen.contains("ส่งคำตอบถึงผู้แจ้งเรื่อง"), "{seen}");
    eventually("the answer pushed to the resident", || {
        pushed_to_resident(&line)
            .iter()
            .any(|m| m.contains("ช่างจะเข้าไปซ่อมวันพรุ่งนี้"))
    })
    .await;
    engineer
        .text(&format!("สถานะ {complaint} กำลังดำเนินการ"))
        .await;
    eventually("the status pushed to the resident", || {
        pushed_to_resident(&line)
            .iter()
            .any(|m| m.contains("กำลังดำเนินการ"))
    })
    .await;
    // Taking the case assigns it; closing it with a note resolves it and tells the resident.
    let seen = engineer.text(&format!("รับ {complaint}")).await;
    assert!(seen.contains("ไว้ดูแลแล้ว"), "{seen}");
    let seen = engineer
        .text(&format!("ปิด {complaint} ซ่อมเสร็จแล้ว ขอบคุณที่แจ้งค่ะ"))
        .await;
    assert!(seen.contains("ปิดเรื่อง"), "{seen}");
    eventually("the closing note pushed to the resident", || {
        pushed_to_resident(&line)
            .iter()
            .any(|m| m.contains("ซ่อมเสร็จแล้ว ขอบคุณที่แจ้งค่ะ"))
    })
    .await;
    assert!(
        !engineer.text("คิว").await.contains(&complaint),
        "a closed case leaves the queue"
    );
    // The resident's own timeline shows both.
    line_turn(&app, &line, text(17, &complaint)).await;
    let timeline = line
        .requests_to("/v2/bot/message/reply")
        .pop()
        .unwrap()
        .body
        .to_string();
    assert!(
        timeline.contains("เจ้าหน้าที่ตอบ: ช่างจะเข้าไปซ่อมวันพรุ่งนี้"),
        "{timeline}"
    );
    assert!(timeline.contains("กำลังดำเนินการ"), "{timeline}");
    assert!(timeline.contains("ดำเนินการเสร็จแล้ว"), "resolved: {timeline}");

    // The integrity officer sees the corruption complaint and who sent it; each view is
    // written to the audit log.
    let officer = Resident::new(&app, "officer");
    officer.text(&integrity_code).await;
    let seen = officer.text(&format!("เปิด {corruption}")).await;
    assert!(seen.contains("081-999-0000"), "{seen}");
    officer.text(&format!("เปิด {corruption}")).await;
    let engineer_key = ChatKey::new(Channel::Web, engineer.session.clone());
    drop((engineer, copycat, accountant, officer));
    app.stop().await;

    let store = reopen(dir.path());
    let entries = store.audit_entries().unwrap();
    let views: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "view" && e.case_code == corruption)
        .collect();
    assert_eq!(views.len(), 2);
    assert!(
        views
            .iter()
            .all(|e| e.actor.starts_with("integrity_officer ")),
        "{views:?}"
    );
    assert!(entries
        .iter()
        .any(|e| e.action == "status" && e.detail == "received -> in_progress"));
    assert!(entries
        .iter()
        .any(|e| e.action == "answer" && e.actor.starts_with("staff(engineering)")));
    assert!(
        entries.iter().any(|e| e.action == "take") && entries.iter().any(|e| e.action == "close")
    );
    let case = store
        .all_cases()
        .find_map(|c| c.ok().filter(|c| c.code == complaint))
        .unwrap();
    assert_eq!(case.status, tambon::domain::case::Status::Resolved);
    assert_eq!(
        case.assignee.as_ref().map(|a| a.channel),
        Some(Channel::Web)
    );
    assert_eq!(store.verify_audit().unwrap().broken, None);

    // Revoking takes effect at once.
    assert!(store.revoke_role(&engineer_key).unwrap());
    assert_eq!(store.role_of(&engineer_key).unwrap(), Role::Resident);
}

#[test]
fn the_audit_chain_detects_an_edited_or_removed_entry() {
    let store = tambon::store::Store::temporary().unwrap();
    let note = |n: usize| tambon::store::AuditNote {
        actor: "integrity_officer abc".to_owned(),
        action: "view".to_owned(),
        case_code: format!("CC-2569-{n:04}"),
        detail: String::new(),
    };
    for n in 1..=5 {
        store.audit(&[note(n)]).unwrap();
    }
    assert_eq!(store.verify_audit().unwrap().n_entries, 5);
    assert_eq!(store.verify_audit().unwrap().broken, None);

    let mut edited = store.audit_entries().unwrap()[2].clone();
    edited.actor = "someone else".to_owned();
    store.tamper_audit_entry(&edited).unwrap();
    let report = store.verify_audit().unwrap();
    assert_eq!(report.broken.as_ref().map(|b| b.0), Some(3), "{report:?}");

    let store = tambon::store::Store::temporary().unwrap();
    for n in 1..=5 {
        store.audit(&[note(n)]).unwrap();
    }
    store.remove_audit_entry(3).unwrap();
    assert_eq!(store.verify_audit().unwrap().broken.map(|b| b.0), Some(4));
    store.remove_audit_entry(5).unwrap();
    store.remove_audit_entry(4).unwrap();
    let report = store.verify_audit().unwrap();
    assert!(
        report.broken.is_some(),
        "removing the newest entries is detected too: {report:?}"
    );
}

/// One enrolment code sent by several people at the same moment grants its role once:
/// the code is read before each turn and spent in its transaction, and the turns that
/// lost the race run again and are told the code is spent.
#[tokio::test]
async fn an_enrolment_code_sent_by_many_at_once_enrols_one() {
    let dir = tempfile::tempdir().unwrap();
    let code = {
        let store = reopen(dir.path());
        let code = store
            .create_enrol_code(
                &Role::IntegrityOfficer,
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .unwrap();
        store.sync_blocking().unwrap();
        code
    };
    let app = TestApp::spawn(dir.path(), None).await;
    let people: Vec<Resident> = (0..8)
        .map(|n| Resident::new(&app, &format!("claimant{n}")))
        .collect();
    let answers =
        futures_util::future::join_all(people.iter().map(|person| person.text(&code))).await;
    let enrolled = answers.iter().filter(|a| a.contains("ลงทะเบียนแล้ว")).count();
    let refused = answers.iter().filter(|a| a.contains("ใช้ไม่ได้")).count();
    assert_eq!((enrolled, refused), (1, 7), "{answers:#?}");
    let officers = app
        .store
        .roles()
        .unwrap()
        .into_iter()
        .filter(|(_, role)| *role == Role::IntegrityOfficer)
        .count();
    assert_eq!(officers, 1);
}

/// Two staff members answer the same case in one queue round, with a resident's question
/// beside them. The round's turns are decided together and commit in one transaction;
/// both answers change the one case, so the second was decided from a case the first
/// changed: the round's commit conflicts, writes nothing, and each turn runs again on
/// its own. Both answers are on the case, and every turn is answered once.
#[tokio::test]
async fn two_staff_answering_one_case_in_one_round_both_stand() {
    use tambon::domain::case::{CaseEventKind, CaseKind, NewCase};
    use tambon::domain::change::CaseChange;
    use tambon::engine::{Inbound, InboundKind};
    use tambon::inbox::{AnswerVia, Envelope, Handled, Inbox, Turned};

    let store = tambon::store::Store::temporary().unwrap();
    let now = chrono::Utc::now();
    let resident = ChatKey::new(Channel::Line, RESIDENT);
    let case = store
        .commit_case_change(
            &resident,
            CaseChange::File {
                case: Box::new(NewCase {
                    kind: CaseKind::Complaint,
                    category: "roads".to_owned(),
                    division: "engineering".to_owned(),
                    text: "ถนนหน้าวัดเป็นหลุม".to_owned(),
                    location: None,
                    place: None,
                    photos: Vec::new(),
                    contact: None,
                    reporter: resident.clone(),
                    anonymous: false,
                }),
                receipt_hash: None,
            },
            now,
        )
        .unwrap();
    let engineering = Role::Staff {
        division: "engineering".to_owned(),
    };
    let staff: Vec<ChatKey> = ["Ustaff1", "Ustaff2"]
        .into_iter()
        .map(|user| {
            let chat = ChatKey::new(Channel::Line, user);
            let code = store
                .create_enrol_code(&engineering, now + chrono::Duration::days(1))
                .unwrap();
            assert_eq!(
                store.redeem_enrol_code(&chat, &code, now).unwrap(),
                Some(engineering.clone())
            );
            chat
        })
        .collect();

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = std::sync::Arc::new(
        tambon::config::Settings::load(&root.join("config/tambon.toml")).unwrap(),
    );
    let engine = tambon::startup::load_engine(&settings).unwrap();
    let inbox = std::sync::Arc::new(
        Inbox::new(
            engine,
            store.clone(),
            settings,
            std::sync::Arc::new(tokio::sync::Notify::new()),
        )
        .unwrap(),
    );
    let envelope = |n: usize, from: &ChatKey, text: String| Envelope {
        inbound: Inbound {
            event_id: Some(format!("round-{n}")),
            sender: from.clone(),
            conversation: from.user.clone(),
            kind: InboundKind::Text(text),
            received_at: now,
            lang_hint: None,
        },
        answer: AnswerVia::Outbox {
            reply_token: Some(format!("round-token-{n}")),
            reply_by: Some(now + chrono::Duration::minutes(1)),
        },
        queued: None,
        over_limit: false,
    };
    let neighbour = ChatKey::new(Channel::Line, "Uneighbour");
    let turned = inbox
        .handle_round(vec![
            envelope(1, &staff[0], format!("ตอบ {} ช่างจะไปดูพรุ่งนี้", case.code)),
            envelope(2, &staff[1], format!("ตอบ {} ลงพื้นที่แล้วค่ะ", case.code)),
            envelope(3, &neighbour, "งบประมาณอยู่ที่ไหน".to_owned()),
        ])
        .await;
    assert_eq!(turned.len(), 3);
    for turn in &turned {
        assert!(
            matches!(turn, Turned::Done(Handled::Replies(replies), n) if !replies.is_empty() && *n >= 1),
            "{turn:?}"
        );
    }
    let answered: Vec<String> = store
        .case(case.id)
        .unwrap()
        .unwrap()
        .events
        .into_iter()
        .filter_map(|event| match event.kind {
            CaseEventKind::StaffAnswer { text } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(answered.len(), 2, "{answered:?}");
    assert!(answered.contains(&"ช่างจะไปดูพรุ่งนี้".to_owned()));
    assert!(answered.contains(&"ลงพื้นที่แล้วค่ะ".to_owned()));

    // Each staff member and the neighbour has one answer waiting; the resident has the
    // two staff answers; nothing was written twice by the round that did not commit.
    let due = store
        .due_deliveries(now + chrono::Duration::seconds(1), 100)
        .unwrap();
    let to = |chat: &ChatKey| {
        due.iter()
            .filter(|d| d.body.chat_message().is_ok_and(|m| m.to == chat.user))
            .count()
    };
    assert_eq!(to(&staff[0]), 1);
    assert_eq!(to(&staff[1]), 1);
    assert_eq!(to(&neighbour), 1);
    assert_eq!(to(&resident), 2);
}
