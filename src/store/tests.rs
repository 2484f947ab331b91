use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::case::{Case, CaseKind, NewCase, Notice, Status};
use crate::domain::change::CaseChange;
use crate::engine::Flow;

/// The answer of a turn, given the case it filed or changed.
type ReplyPlan<'a> = &'a dyn Fn(Option<&Case>) -> Option<Outgoing>;
/// The answer kept for a redelivery, given the case.
type KeepPlan<'a> = &'a dyn Fn(Option<&Case>) -> Option<serde_json::Value>;

/// A turn as these tests write it: its forwards, answer and kept answer given as
/// functions of the case, which `CommitTurn::commit_turn` calls once the case change is
/// planned (as the inbox does), before the commit.
struct Turn<'a> {
    chat: &'a ChatKey,
    event: Option<(Channel, &'a str)>,
    conversation: Option<&'a Conversation>,
    change: Option<CaseChange>,
    chat_change: Option<&'a ChatChange>,
    now: chrono::DateTime<Utc>,
    forwards: &'a dyn Fn(&Case, &Notice) -> Vec<Outgoing>,
    reply: Option<ReplyPlan<'a>>,
    keep: Option<KeepPlan<'a>>,
    dequeue: Option<(Channel, u64)>,
    audit: Vec<AuditNote>,
    release_held: usize,
}

/// A turn that changes no case, as `Turn` with no change.
#[derive(Clone)]
struct PlainTurn {
    chat: ChatKey,
    event: Option<(Channel, String)>,
    conversation: Option<Conversation>,
    now: chrono::DateTime<Utc>,
    reply: Option<Outgoing>,
    keep: Option<serde_json::Value>,
    dequeue: Option<(Channel, u64)>,
}

trait CommitTurn {
    /// Plans the turn's case change, builds its deliveries, commits it; returns its case.
    fn commit_turn(&self, turn: Turn<'_>) -> Result<Option<Case>>;
    fn commit_plain_turns(&self, turns: &[PlainTurn]) -> Result<()>;
}

impl CommitTurn for Store {
    fn commit_turn(&self, turn: Turn<'_>) -> Result<Option<Case>> {
        let (case, notices) = match turn.change {
            Some(change) => {
                let (write, notices) = self.plan_case_change(change, turn.now)?;
                (Some(write), notices)
            }
            None => (None, Vec::new()),
        };
        let changed = case.as_ref().map(|write| write.case().clone());
        let mut outgoing: Vec<Outgoing> = match &changed {
            Some(case) => notices
                .iter()
                .flat_map(|notice| (turn.forwards)(case, notice))
                .collect(),
            None => Vec::new(),
        };
        outgoing.extend(turn.reply.and_then(|reply| reply(changed.as_ref())));
        self.commit_turns(&[TurnWrite {
            event: turn.event.map(|(channel, id)| (channel, id.to_owned())),
            conversation: turn.conversation.cloned(),
            case,
            chat_change: turn.chat_change.cloned(),
            outgoing,
            keep: turn.keep.and_then(|keep| keep(changed.as_ref())),
            dequeue: turn.dequeue,
            audit: turn.audit,
            release_held: turn.release_held,
            ..TurnWrite::new(turn.chat.clone(), turn.now)
        }])?;
        Ok(changed)
    }

    fn commit_plain_turns(&self, turns: &[PlainTurn]) -> Result<()> {
        let writes: Vec<TurnWrite> = turns
            .iter()
            .cloned()
            .map(|turn| TurnWrite {
                event: turn.event,
                conversation: turn.conversation,
                outgoing: turn.reply.into_iter().collect(),
                keep: turn.keep,
                dequeue: turn.dequeue,
                ..TurnWrite::new(turn.chat, turn.now)
            })
            .collect();
        self.commit_turns(&writes)
    }
}

fn no_forwards(_: &Case, _: &Notice) -> Vec<Outgoing> {
    Vec::new()
}

/// Forwards to two destinations, with the notice's name as the body.
fn log_and_hook(case: &Case, notice: &Notice) -> Vec<Outgoing> {
    ["log", "hook"]
        .into_iter()
        .map(|id| Outgoing {
            route: Route::Destination { id: id.to_owned() },
            body: Body::from(
                &serde_json::json!({ "code": case.code, "notice": format!("{notice:?}") }),
            ),
            sensitive: false,
            reply_by_ms: None,
        })
        .collect()
}

fn new_case(kind: CaseKind, reporter: &ChatKey) -> NewCase {
    NewCase {
        kind,
        category: "roads".to_owned(),
        division: "engineering".to_owned(),
        text: "ถนนหน้าวัดเป็นหลุม".to_owned(),
        location: None,
        place: None,
        photos: Vec::new(),
        contact: None,
        reporter: reporter.clone(),
        anonymous: false,
    }
}

fn file(
    store: &Store,
    new: NewCase,
    event: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> crate::domain::case::Case {
    let chat = new.reporter.clone();
    store
        .commit_turn(Turn {
            chat_change: None,
            chat: &chat,
            event: event.map(|id| (Channel::Web, id)),
            conversation: Some(&Conversation::default()),
            change: Some(CaseChange::File {
                case: Box::new(new),
                receipt_hash: None,
            }),
            now,
            forwards: &log_and_hook,
            reply: None,
            keep: None,
            dequeue: None,
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap()
        .unwrap()
}

#[test]
fn codes_count_per_kind_and_buddhist_year() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap();
    assert_eq!(
        file(&store, new_case(CaseKind::Suggestion, &alice), None, now).code,
        "SG-2569-0001"
    );
    assert_eq!(
        file(&store, new_case(CaseKind::Suggestion, &alice), None, now).code,
        "SG-2569-0002"
    );
    assert_eq!(
        file(&store, new_case(CaseKind::Complaint, &alice), None, now).code,
        "CP-2569-0001"
    );
    let next_year = Utc.with_ymd_and_hms(2027, 1, 2, 4, 0, 0).unwrap();
    assert_eq!(
        file(
            &store,
            new_case(CaseKind::Suggestion, &alice),
            None,
            next_year
        )
        .code,
        "SG-2570-0001"
    );
}

#[test]
fn a_filed_case_is_found_by_code_and_reporter_and_queues_its_forwards() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let bob = ChatKey::new(Channel::Web, "bob");
    let now = Utc::now();
    let case = file(
        &store,
        new_case(CaseKind::Complaint, &alice),
        Some("e1"),
        now,
    );
    let code = crate::domain::case::CaseCode::parse(&case.code).unwrap();
    assert_eq!(store.case_by_code(&code).unwrap().unwrap(), case);
    assert_eq!(store.cases_of(&alice).unwrap(), vec![case.clone()]);
    assert!(store.cases_of(&bob).unwrap().is_empty());
    assert_eq!(
        store.outcome(Channel::Web, "e1").unwrap(),
        Some(Outcome::Processed(None))
    );
    let due = store.due_deliveries(now, 10).unwrap();
    let routes: Vec<String> = due.iter().map(|d| d.route.to_string()).collect();
    assert_eq!(routes, ["log", "hook"]);
    assert_eq!(due[0].body.json()["code"], case.code.as_str());
    assert_eq!(due[0].body.json()["notice"], "Filed");
}

#[test]
fn delivery_states_move_through_the_schedule() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let now = Utc::now();
    file(&store, new_case(CaseKind::Complaint, &alice), None, now);
    let mut delivery = store.due_deliveries(now, 10).unwrap().remove(0);
    let was_due = delivery.next_attempt_ms;
    delivery.attempts = 1;
    delivery.next_attempt_ms = was_due + 60_000;
    store.update_delivery(was_due, &delivery).unwrap();
    // Rescheduled: no longer due now, due in a minute.
    assert_eq!(store.due_deliveries(now, 10).unwrap().len(), 1);
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(store.due_deliveries(later, 10).unwrap().len(), 2);
    let found = store.delivery(delivery.id).unwrap().unwrap();
    assert_eq!(
        (found.state, found.attempts),
        (DeliveryState::Pending, 1),
        "a pending delivery is found by its id"
    );
    delivery.state = DeliveryState::Dead;
    store
        .update_delivery(delivery.next_attempt_ms, &delivery)
        .unwrap();
    assert_eq!(store.due_deliveries(later, 10).unwrap().len(), 1);
    assert_eq!(
        store.delivery(delivery.id).unwrap().unwrap().state,
        DeliveryState::Dead
    );
    let listed: Vec<(u64, DeliveryState)> = store
        .all_deliveries()
        .map(|d| d.map(|d| (d.id, d.state)).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "each delivery listed once: {listed:?}");
    assert!(
        listed.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "{listed:?}"
    );
    assert!(listed.contains(&(delivery.id, DeliveryState::Dead)));
    assert!(store.retry_delivery(delivery.id, later).unwrap());
    assert_eq!(store.due_deliveries(later, 10).unwrap().len(), 2);
    assert!(
        !store.retry_delivery(delivery.id, later).unwrap(),
        "only a dead delivery is put back"
    );
    assert_eq!(store.all_deliveries().count(), 2, "moved, not copied");
}

/// A store written when pending deliveries were records with a separate due index
/// (`due_deliveryid`) opens with them in the schedule: due as they were, found and
/// finished as any other, the old index gone.
#[test]
fn deliveries_indexed_the_old_way_are_scheduled_at_opening() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let of_state = |id: u64, state: DeliveryState| {
        let route = Route::Destination { id: "log".into() };
        let body = Body::from(&serde_json::json!({ "n": id }));
        let mut delivery = Delivery::new(id, route, Some(7), body, now);
        delivery.state = state;
        delivery
    };
    let pending = of_state(41, DeliveryState::Pending);
    {
        let store = Store::open(dir.path()).unwrap();
        let old_index = store.db.open_tree("due_deliveryid").unwrap();
        for delivery in [&pending, &of_state(42, DeliveryState::Dead)] {
            store
                .deliveryid_delivery
                .insert(keys::id(delivery.id), encode(delivery).unwrap())
                .unwrap();
        }
        old_index
            .insert(keys::due(pending.next_attempt_ms, pending.id), &[])
            .unwrap();
        store.sync_blocking().unwrap();
    }
    let store = reopen(dir.path());
    assert!(
        !store
            .db
            .tree_names()
            .iter()
            .any(|name| name == b"due_deliveryid".as_slice()),
        "the old index is dropped"
    );
    let mut due = store.due_deliveries(now, 10).unwrap();
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [41]);
    assert_eq!(
        store.delivery(42).unwrap().unwrap().state,
        DeliveryState::Dead
    );
    let listed: Vec<u64> = store.all_deliveries().map(|d| d.unwrap().id).collect();
    assert_eq!(listed, [41, 42]);
    let mut sent = due.remove(0);
    sent.state = DeliveryState::Delivered;
    store
        .update_delivery(pending.next_attempt_ms, &sent)
        .unwrap();
    assert!(store
        .due_deliveries(now + chrono::Duration::minutes(1), 10)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.delivery(41).unwrap().unwrap().state,
        DeliveryState::Delivered,
        "a case's delivery is kept once delivered"
    );
}

#[test]
fn withdrawing_records_the_event_and_status() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let case = file(
        &store,
        new_case(CaseKind::Complaint, &alice),
        None,
        Utc::now(),
    );
    let changed = store
        .commit_turn(Turn {
            chat_change: None,
            chat: &alice,
            event: None,
            conversation: Some(&Conversation::default()),
            change: Some(CaseChange::Withdraw { case_id: case.id }),
            now: Utc::now(),
            forwards: &no_forwards,
            reply: None,
            keep: None,
            dequeue: None,
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(changed.status, Status::Withdrawn);
    assert_eq!(store.case(case.id).unwrap().unwrap().events.len(), 2);
}

#[test]
fn a_missing_case_aborts_the_whole_turn() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let conversation = Conversation {
        flow: Flow::AwaitingCode,
        ..Conversation::default()
    };
    let result = store.commit_turn(Turn {
        chat_change: None,
        chat: &alice,
        event: Some((Channel::Web, "e9")),
        conversation: Some(&conversation),
        change: Some(CaseChange::AddInfo {
            case_id: 404,
            text: "x".to_owned(),
        }),
        now: Utc::now(),
        forwards: &no_forwards,
        reply: None,
        keep: None,
        dequeue: None,
        release_held: 0,
        audit: Vec::new(),
    });
    assert!(matches!(result, Err(Error::NoSuchCase(404))));
    // Nothing of the turn was written.
    assert_eq!(store.conversation(&alice).unwrap(), None);
    assert_eq!(store.outcome(Channel::Web, "e9").unwrap(), None);
}

#[tokio::test]
async fn state_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let conversation = Conversation {
        flow: Flow::AwaitingCode,
        ..Conversation::default()
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .commit_turn(Turn {
                chat_change: None,
                chat: &alice,
                event: None,
                conversation: Some(&conversation),
                change: None,
                now: Utc::now(),
                forwards: &no_forwards,
                reply: None,
                keep: None,
                dequeue: None,
                release_held: 0,
                audit: Vec::new(),
            })
            .unwrap();
        store.sync().await.unwrap();
        assert_eq!(store.installation_secret().len(), 32);
    }
    let first_secret = {
        let store = reopen(dir.path());
        store.installation_secret()
    };
    let store = reopen(dir.path());
    assert_eq!(store.conversation(&alice).unwrap(), Some(conversation));
    assert_eq!(
        store.installation_secret(),
        first_secret,
        "the secret is created once"
    );
}

#[tokio::test]
async fn every_concurrent_sync_is_covered_by_a_flush() {
    let store = Store::temporary().unwrap();
    let mut tasks = Vec::new();
    for n in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.meta.insert(format!("k{n}"), &[1]).unwrap();
            store.sync().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let flushed = store.commit.flushed.load(Ordering::SeqCst);
    assert_eq!(flushed, store.commit.tickets.load(Ordering::SeqCst));
}

#[test]
fn old_outcomes_are_pruned() {
    let store = Store::temporary().unwrap();
    store
        .record_replies(Channel::Web, "old", serde_json::json!([]))
        .unwrap();
    assert_eq!(store.prune_outcomes(-1).unwrap(), 1);
    assert_eq!(store.outcome(Channel::Web, "old").unwrap(), None);
}

#[test]
fn a_queued_event_keeps_its_record_until_its_turn_and_the_retention_have_passed() {
    let store = Store::temporary().unwrap();
    let now = Utc::now();
    store
        .enqueue_inbound(&[new_event("ev-q", true), new_event("ev-d", true)], now)
        .unwrap();
    // Still queued: kept however old, so that a redelivery is not queued twice.
    assert_eq!(store.prune_outcomes(-1).unwrap(), 0);
    assert_eq!(
        store.outcome(Channel::Line, "ev-q").unwrap(),
        Some(Outcome::Pending)
    );
    // Dropped (unreadable): its emptied queue place says processed, and a redelivery
    // is still recognised.
    let queued = store.queued_inbound(Channel::Line, 10).unwrap();
    let dropped = queued.iter().find(|e| e.event_id == "ev-d").unwrap();
    store.drop_inbound(dropped).unwrap();
    assert_eq!(
        store.outcome(Channel::Line, "ev-d").unwrap(),
        Some(Outcome::Processed(None))
    );
    assert_eq!(
        store
            .enqueue_inbound(&[new_event("ev-d", true)], now)
            .unwrap(),
        [Enqueued::Duplicate]
    );
    // Once out of the queue and past the retention, it is forgotten.
    assert_eq!(store.prune_outcomes(-1).unwrap(), 1);
    assert_eq!(store.outcome(Channel::Line, "ev-d").unwrap(), None);
    assert_eq!(
        store.outcome(Channel::Line, "ev-q").unwrap(),
        Some(Outcome::Pending)
    );
}

fn new_event(event_id: &str, process: bool) -> NewEvent {
    NewEvent {
        channel: Channel::Line,
        event_id: event_id.to_owned(),
        chat: "U1".to_owned(),
        counted: true,
        payload: vec![1, 2, 3],
        process,
    }
}

#[test]
fn an_inbound_event_is_queued_once_and_consumed_by_its_turn() {
    let store = Store::temporary().unwrap();
    let now = Utc::now();
    // A redelivery in the same batch, and one in a later batch, write nothing.
    assert_eq!(
        store
            .enqueue_inbound(&[new_event("ev-1", true), new_event("ev-1", true)], now)
            .unwrap(),
        [Enqueued::New, Enqueued::Duplicate]
    );
    assert_eq!(
        store
            .enqueue_inbound(&[new_event("ev-1", true)], now)
            .unwrap(),
        [Enqueued::Duplicate]
    );
    assert_eq!(
        store.outcome(Channel::Line, "ev-1").unwrap(),
        Some(Outcome::Pending)
    );
    let queued = store.queued_inbound(Channel::Line, 10).unwrap();
    assert_eq!(queued.len(), 1);
    // The record reads back as the gate wrote it.
    let sent = new_event("ev-1", true);
    assert_eq!(
        (
            &queued[0].event_id,
            &queued[0].chat,
            queued[0].counted,
            &queued[0].payload
        ),
        (&sent.event_id, &sent.chat, sent.counted, &sent.payload)
    );
    assert_eq!(
        queued[0].received_at.timestamp_millis(),
        now.timestamp_millis()
    );
    let alice = ChatKey::new(Channel::Line, "U1");
    store
        .commit_turn(Turn {
            chat_change: None,
            chat: &alice,
            event: Some((Channel::Line, "ev-1")),
            conversation: Some(&Conversation::default()),
            change: None,
            now,
            forwards: &no_forwards,
            reply: None,
            keep: None,
            dequeue: Some((Channel::Line, queued[0].seq)),
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap();
    assert!(store.queued_inbound(Channel::Line, 10).unwrap().is_empty());
    assert_eq!(
        store.outcome(Channel::Line, "ev-1").unwrap(),
        Some(Outcome::Processed(None))
    );
    assert_eq!(
        store
            .enqueue_inbound(&[new_event("ev-1", true)], now)
            .unwrap(),
        [Enqueued::Duplicate]
    );
}

#[test]
fn plain_turns_of_a_round_commit_together() {
    let store = Store::temporary().unwrap();
    let now = Utc::now();
    let events = [new_event("ev-a", true), {
        let mut b = new_event("ev-b", true);
        b.chat = "U2".to_owned();
        b
    }];
    store.enqueue_inbound(&events, now).unwrap();
    let queued = store.queued_inbound(Channel::Line, 10).unwrap();
    let turns: Vec<PlainTurn> = queued
        .iter()
        .map(|event| {
            let conversation = Conversation {
                lang: Some(crate::domain::Lang::En),
                ..Conversation::default()
            };
            PlainTurn {
                chat: ChatKey::new(Channel::Line, event.chat.clone()),
                event: Some((Channel::Line, event.event_id.clone())),
                conversation: Some(conversation),
                now,
                reply: Some(Outgoing {
                    route: Route::Channel {
                        channel: Channel::Line,
                    },
                    body: Body::from(&serde_json::json!({ "to": event.chat })),
                    sensitive: false,
                    reply_by_ms: None,
                }),
                keep: None,
                dequeue: Some((Channel::Line, event.seq)),
            }
        })
        .collect();
    store.commit_plain_turns(&turns).unwrap();
    // Each one's conversation, processed marker, queue entry and answer.
    assert!(store.queued_inbound(Channel::Line, 10).unwrap().is_empty());
    for (chat, event_id) in [("U1", "ev-a"), ("U2", "ev-b")] {
        let conversation = store
            .conversation(&ChatKey::new(Channel::Line, chat))
            .unwrap()
            .expect("saved");
        assert_eq!(conversation.lang, Some(crate::domain::Lang::En));
        assert_eq!(
            store.outcome(Channel::Line, event_id).unwrap(),
            Some(Outcome::Processed(None))
        );
    }
    let due = store.due_deliveries(now, 10).unwrap();
    let mut to: Vec<String> = due
        .iter()
        .map(|d| d.body.json()["to"].to_string())
        .collect();
    to.sort();
    assert_eq!(to, ["\"U1\"", "\"U2\""]);

    // A turn that left its conversation as it was writes none: what is stored stays,
    // whoever wrote it (here a staff change made meanwhile), and the turn still commits.
    let u1 = ChatKey::new(Channel::Line, "U1");
    let meanwhile = Conversation {
        lang: Some(crate::domain::Lang::Th),
        flow: crate::engine::Flow::AwaitingAfterPhoto { case_id: 7 },
        ..Conversation::default()
    };
    store
        .commit_plain_turns(&[PlainTurn {
            conversation: Some(meanwhile.clone()),
            event: None,
            reply: None,
            dequeue: None,
            ..turns[0].clone()
        }])
        .unwrap();
    store
        .enqueue_inbound(&[new_event("ev-c", true)], now)
        .unwrap();
    let queued = store.queued_inbound(Channel::Line, 10).unwrap();
    store
        .commit_plain_turns(&[PlainTurn {
            conversation: None,
            event: Some((Channel::Line, "ev-c".to_owned())),
            dequeue: Some((Channel::Line, queued[0].seq)),
            ..turns[0].clone()
        }])
        .unwrap();
    assert_eq!(store.conversation(&u1).unwrap(), Some(meanwhile));
    assert!(store.queued_inbound(Channel::Line, 10).unwrap().is_empty());
    assert_eq!(store.due_deliveries(now, 10).unwrap().len(), 3);
}

#[test]
fn a_queued_event_of_the_json_era_still_reads() {
    // What the queue held before its records were binary: the platform's JSON as `raw`.
    let store = Store::temporary().unwrap();
    let raw = r#"{"type":"message","source":{"type":"user","userId":"U1"}}"#;
    let old = serde_json::json!({
        "v": 1, "channel": "line", "event_id": "ev-old", "raw": raw,
        "received_at": "2026-11-30T01:02:03Z",
    });
    store
        .channelseq_event
        .insert(
            keys::queued(Channel::Line, 7),
            serde_json::to_vec(&old).unwrap(),
        )
        .unwrap();
    let queued = store.queued_inbound(Channel::Line, 10).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].seq, 7);
    assert_eq!(queued[0].event_id, "ev-old");
    assert_eq!(queued[0].payload, raw.as_bytes());
    // Its chat was never read at the gate: such events run one after another.
    assert_eq!(queued[0].chat, "");
}

#[test]
fn a_standby_event_is_recorded_without_being_queued() {
    let store = Store::temporary().unwrap();
    assert_eq!(
        store
            .enqueue_inbound(&[new_event("ev-s", false)], Utc::now())
            .unwrap(),
        [Enqueued::New]
    );
    assert!(store.queued_inbound(Channel::Line, 10).unwrap().is_empty());
    assert_eq!(
        store.outcome(Channel::Line, "ev-s").unwrap(),
        Some(Outcome::Processed(None))
    );
}

#[test]
fn a_sensitive_delivery_is_wiped_once_delivered() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Line, "U1");
    let reply = |_: Option<&Case>| {
        Some(Outgoing {
            route: Route::Channel {
                channel: Channel::Line,
            },
            body: Body::from(&serde_json::json!({ "receipt": "1234 5678 9012 3456" })),
            sensitive: true,
            reply_by_ms: None,
        })
    };
    store
        .commit_turn(Turn {
            chat_change: None,
            chat: &alice,
            event: None,
            conversation: Some(&Conversation::default()),
            change: None,
            now: Utc::now(),
            forwards: &no_forwards,
            reply: Some(&reply),
            keep: None,
            dequeue: None,
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap();
    let mut delivery = store.due_deliveries(Utc::now(), 10).unwrap().remove(0);
    assert_eq!(delivery.body.json()["receipt"], "1234 5678 9012 3456");
    delivery.state = DeliveryState::Delivered;
    store
        .update_delivery(delivery.next_attempt_ms, &delivery)
        .unwrap();
    let stored = store.delivery(delivery.id).unwrap().unwrap();
    assert!(
        stored.body.json().get("receipt").is_none(),
        "{}",
        stored.body
    );
}

#[test]
fn groups_are_learned_and_bound_to_divisions() {
    let store = Store::temporary().unwrap();
    assert!(
        !store
            .bind_group(Channel::Line, "C1", Some("finance"))
            .unwrap(),
        "unknown group"
    );
    store.group_joined(Channel::Line, "C1", Utc::now()).unwrap();
    assert!(store
        .bind_group(Channel::Line, "C1", Some("finance"))
        .unwrap());
    assert_eq!(store.groups_of("finance").unwrap().len(), 1);
    store.group_left(Channel::Line, "C1", Utc::now()).unwrap();
    assert!(store.groups_of("finance").unwrap().is_empty());
}

/// A store written before the index of open cases existed is indexed once, when it is
/// opened: its open cases are in the queues, its closed ones are not.
#[test]
fn a_store_written_before_the_open_case_index_is_indexed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ChatKey::new(Channel::Line, "alice");
    let now = Utc::now();
    let (open_id, closed_id) = {
        let store = Store::open(dir.path()).unwrap();
        let open = file(&store, new_case(CaseKind::Complaint, &alice), None, now);
        let closed = file(&store, new_case(CaseKind::Suggestion, &alice), None, now);
        store
            .commit_turn(Turn {
                chat_change: None,
                chat: &alice,
                event: None,
                conversation: None,
                change: Some(CaseChange::Close {
                    case_id: closed.id,
                    note: "done".to_owned(),
                    photo: None,
                }),
                now,
                forwards: &no_forwards,
                reply: None,
                keep: None,
                dequeue: None,
                release_held: 0,
                audit: Vec::new(),
            })
            .unwrap();
        // As the store was before the index: no index, and no mark that it was built.
        store.open_caseid.clear().unwrap();
        store.meta.remove(b"open_cases_indexed").unwrap();
        store.sync_blocking().unwrap();
        (open.id, closed.id)
    };
    let store = reopen(dir.path());
    let open_ids: Vec<u64> = store.open_cases().map(|case| case.unwrap().id).collect();
    assert_eq!(open_ids, vec![open_id], "closed: {closed_id}");
}

#[test]
fn the_open_case_index_follows_closing_and_reopening() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Line, "alice");
    let now = Utc::now();
    let first = file(&store, new_case(CaseKind::Complaint, &alice), None, now);
    let second = file(&store, new_case(CaseKind::Suggestion, &alice), None, now);
    let open_ids =
        |store: &Store| -> Vec<u64> { store.open_cases().map(|case| case.unwrap().id).collect() };
    assert_eq!(open_ids(&store), vec![first.id, second.id]);
    let change = |change: CaseChange| {
        store
            .commit_turn(Turn {
                chat_change: None,
                chat: &alice,
                event: None,
                conversation: None,
                change: Some(change),
                now,
                forwards: &no_forwards,
                reply: None,
                keep: None,
                dequeue: None,
                release_held: 0,
                audit: Vec::new(),
            })
            .unwrap();
    };
    change(CaseChange::Close {
        case_id: first.id,
        note: "done".to_owned(),
        photo: None,
    });
    assert_eq!(open_ids(&store), vec![second.id]);
    change(CaseChange::Reopen { case_id: first.id });
    assert_eq!(open_ids(&store), vec![first.id, second.id]);
    change(CaseChange::Withdraw { case_id: second.id });
    assert_eq!(open_ids(&store), vec![first.id]);
}

/// The answer kept for a redelivery is written with the processed marker, in the turn's
/// transaction: a crash can leave both or neither, never a marker with no answer (which
/// a retry would get as an empty answer).
#[test]
fn the_kept_answer_is_committed_with_the_turn() {
    let store = Store::temporary().unwrap();
    let chat = ChatKey::new(Channel::Web, "session-1");
    let keep = |case: Option<&crate::domain::case::Case>| {
        Some(serde_json::json!([{ "filed": case.map(|c| c.code.clone()) }]))
    };
    let case = store
        .commit_turn(Turn {
            chat_change: None,
            chat: &chat,
            event: Some((Channel::Web, "session-1:m1")),
            conversation: Some(&Conversation::default()),
            change: Some(CaseChange::File {
                case: Box::new(new_case(CaseKind::Complaint, &chat)),
                receipt_hash: None,
            }),
            now: Utc::now(),
            forwards: &no_forwards,
            reply: None,
            keep: Some(&keep),
            dequeue: None,
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        store.outcome(Channel::Web, "session-1:m1").unwrap(),
        Some(Outcome::Processed(Some(
            serde_json::json!([{ "filed": case.code }])
        )))
    );
}

/// A web chat event id carries the session id; the time of its processed marker would
/// tie that session to an anonymous case filed at the same moment. Only a keyed hash of
/// the id may reach the store.
#[test]
fn a_processed_event_id_is_kept_only_as_a_keyed_hash() {
    let store = Store::temporary().unwrap();
    let session = "session-whistleblower-7f3a9c";
    let chat = ChatKey::new(Channel::Web, session);
    let event_id = format!("{session}:m1");
    let keep = |_: Option<&Case>| Some(serde_json::json!([]));
    store
        .commit_turn(Turn {
            chat_change: None,
            chat: &chat,
            event: Some((Channel::Web, &event_id)),
            conversation: None,
            change: None,
            now: Utc::now(),
            forwards: &no_forwards,
            reply: None,
            keep: Some(&keep),
            dequeue: None,
            release_held: 0,
            audit: Vec::new(),
        })
        .unwrap();
    assert!(matches!(
        store.outcome(Channel::Web, &event_id).unwrap(),
        Some(Outcome::Processed(_))
    ));
    for name in store.db.tree_names() {
        let tree = store.db.open_tree(&name).unwrap();
        for entry in tree.iter() {
            let (key, value) = entry.unwrap();
            for bytes in [&key[..], &value[..]] {
                assert!(
                    !bytes
                        .windows(session.len())
                        .any(|w| w == session.as_bytes()),
                    "the session id in clear in tree {:?}",
                    String::from_utf8_lossy(&name)
                );
            }
        }
    }
}

/// A corruption complaint the integrity officer hands to a division (to work the facts)
/// is still never shown to that division's staff: only the integrity officer and admins
/// see it, and only the integrity officer its reporter.
#[test]
fn a_corruption_complaint_handed_to_a_division_stays_hidden_from_its_staff() {
    use crate::domain::role::Role;
    let store = Store::temporary().unwrap();
    let reporter = ChatKey::new(Channel::Line, "reporter");
    let mut complaint = new_case(CaseKind::Corruption, &reporter);
    complaint.division = crate::config::INTEGRITY_DIVISION.to_owned();
    let filed = file(&store, complaint, None, Utc::now());
    let officer = ChatKey::new(Channel::Dashboard, "officer");
    for change in [
        CaseChange::CoResponsible {
            case_id: filed.id,
            division: "finance".to_owned(),
        },
        CaseChange::Forward {
            case_id: filed.id,
            to: "engineering".to_owned(),
        },
    ] {
        store
            .commit_turn(Turn {
                chat_change: None,
                chat: &officer,
                event: None,
                conversation: None,
                change: Some(change),
                now: Utc::now(),
                forwards: &no_forwards,
                reply: None,
                keep: None,
                dequeue: None,
                release_held: 0,
                audit: Vec::new(),
            })
            .unwrap();
    }
    let case = store.case(filed.id).unwrap().unwrap();
    assert!(case.concerns_division("finance") && case.concerns_division("engineering"));
    for division in ["finance", "engineering"] {
        let staff = Role::Staff {
            division: division.to_owned(),
        };
        assert!(!staff.can_see(&case), "{division}'s staff see it");
        assert!(!staff.sees_reporter(&case), "{division}'s staff see who");
    }
    assert!(Role::IntegrityOfficer.can_see(&case));
    assert!(Role::IntegrityOfficer.sees_reporter(&case));
    assert!(Role::Admin.can_see(&case));
    assert!(!Role::Admin.sees_reporter(&case), "an admin sees who");
}

/// A group chat bound to a division is that division's staff room; one bound to the
/// integrity officer gets no role, so a corruption complaint is never worked in a group.
#[test]
fn a_group_bound_to_the_integrity_officer_gets_no_role() {
    use crate::domain::role::Role;
    let store = Store::temporary().unwrap();
    for id in ["C-finance", "C-integrity"] {
        store.group_joined(Channel::Line, id, Utc::now()).unwrap();
    }
    store
        .bind_group(Channel::Line, "C-finance", Some("finance"))
        .unwrap();
    store
        .bind_group(
            Channel::Line,
            "C-integrity",
            Some(crate::config::INTEGRITY_DIVISION),
        )
        .unwrap();
    assert_eq!(
        store
            .role_of(&ChatKey::new(Channel::Line, "C-finance"))
            .unwrap(),
        Role::Staff {
            division: "finance".to_owned()
        }
    );
    assert_eq!(
        store
            .role_of(&ChatKey::new(Channel::Line, "C-integrity"))
            .unwrap(),
        Role::Resident
    );
}

/// A link code is good for ten minutes: one found later (on an old screenshot, by
/// someone else) links nothing, and is spent.
#[test]
fn a_link_code_past_its_time_links_nothing() {
    let store = Store::temporary().unwrap();
    let line = ChatKey::new(Channel::Line, "U1");
    let telegram = ChatKey::new(Channel::Telegram, "42");
    let issued = Utc::now();
    store
        .issue_link_code(&line, "123456", issued + chrono::Duration::minutes(10))
        .unwrap();
    let late = issued + chrono::Duration::minutes(11);
    assert_eq!(
        store.redeem_link_code(&telegram, "123456", late).unwrap(),
        crate::domain::Linked::BadCode
    );
    assert_eq!(store.identities(&telegram).unwrap(), vec![telegram.clone()]);
    assert_eq!(store.identities(&line).unwrap(), vec![line]);
}

/// Failed logins are counted by compare-and-swap: attempts checked at the same moment
/// each add their failure, none overwrites another's count (a read-then-write would let
/// parallel attempts past the lockout).
#[test]
fn parallel_changes_to_a_login_lose_no_count() {
    let store = Store::temporary().unwrap();
    store
        .put_login(&Login {
            v: 1,
            username: "somchai".to_owned(),
            password_hash: String::new(),
            failures: 0,
            locked_until: None,
            created_at: Utc::now(),
        })
        .unwrap();
    const THREADS: u32 = 8;
    const EACH: u32 = 300;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..EACH {
                    store
                        .update_login("somchai", |login| login.failures += 1)
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(
        store.login("somchai").unwrap().unwrap().failures,
        THREADS * EACH
    );
}

/// Two fan-out workers that read an update in the same state: only the first commits its
/// step; the second, whose reading is stale, writes no delivery (nobody gets it twice).
#[test]
fn a_fan_out_step_from_a_stale_reading_commits_nothing() {
    use crate::domain::update::{Topic, Update, UpdateState};
    let store = Store::temporary().unwrap();
    let now = Utc::now();
    let update = store
        .create_update(Update {
            v: 1,
            id: 0,
            author: ChatKey::new(Channel::Line, "head"),
            author_label: "village_head(1)".to_owned(),
            topic: Topic::Village,
            villages: vec![1],
            text: "ข่าว".to_owned(),
            photo: None,
            location: None,
            created_at: now,
            send_at: now,
            state: UpdateState::Scheduled,
            n_recipients: 0,
            n_undeliverable: 0,
        })
        .unwrap();
    let step = || FanoutStep {
        deliveries: vec![Outgoing {
            route: Route::Channel {
                channel: Channel::Telegram,
            },
            body: Body::from(&serde_json::json!({ "to": "1001", "messages": [] })),
            sensitive: false,
            reply_by_ms: None,
        }],
        n_recipients: 1,
        n_undeliverable: 0,
        cursor: Some(b"subscriber-1".to_vec()),
    };
    assert!(store.commit_fanout_step(&update, step(), now).unwrap());
    assert!(
        !store.commit_fanout_step(&update, step(), now).unwrap(),
        "a step from the stale reading"
    );
    assert_eq!(store.all_deliveries().count(), 1);
    let update = store.update(update.id).unwrap().unwrap();
    assert_eq!(update.n_recipients, 1);
}

#[test]
fn a_json_body_of_an_earlier_version_is_read_for_its_reply_token_and_recipients() {
    let chat = Route::Channel {
        channel: Channel::Line,
    };
    let in_a_minute = unix_ms(Utc::now()) + 60_000;
    let body = |value: serde_json::Value| Body::from(&value);
    let fresh = body(serde_json::json!({
        "to": "U1", "reply_token": "tok\\u0065n", "reply_by_ms": in_a_minute, "messages": [],
    }));
    assert!(
        has_fresh_reply_token(&chat, &fresh, Utc::now()),
        "escapes in a token are read"
    );
    let stale = body(serde_json::json!({
        "to": "U1", "reply_token": "t", "reply_by_ms": 1_000, "messages": [],
    }));
    assert!(!has_fresh_reply_token(&chat, &stale, Utc::now()));
    let no_token = body(serde_json::json!({ "to": "U1", "messages": [] }));
    assert!(!has_fresh_reply_token(&chat, &no_token, Utc::now()));
    let forward = Route::Destination {
        id: "hook".to_owned(),
    };
    assert!(
        !has_fresh_reply_token(&forward, &fresh, Utc::now()),
        "only chats have tokens"
    );

    // The body is the JSON text it was written as, and reads as a chat message.
    assert_eq!(fresh.chat_message().unwrap().to, "U1");
    assert_eq!(fresh.to_string(), fresh.json_text());
    assert_eq!(fresh.recipients(), 1);
    let many = body(serde_json::json!({ "to": "", "to_many": ["U1", "U2", "U3"], "messages": [] }));
    assert_eq!(many.recipients(), 3);
}

/// A turn with a one-time code and a case change planned before someone else changed
/// that case: its transaction applies the code, then finds the case changed, and every
/// write of the turn is undone, the code's too.
fn turn_that_fails(store: &Store, chat: &ChatKey, chat_change: &ChatChange) -> TurnWrite {
    let reporter = ChatKey::new(Channel::Web, "reporter");
    let case = file(
        store,
        new_case(CaseKind::Complaint, &reporter),
        None,
        Utc::now(),
    );
    let add_info = |text: &str| CaseChange::AddInfo {
        case_id: case.id,
        text: text.to_owned(),
    };
    let (stale, _) = store.plan_case_change(add_info("x"), Utc::now()).unwrap();
    store
        .commit_case_change(&reporter, add_info("meanwhile"), Utc::now())
        .unwrap();
    TurnWrite {
        event: Some((Channel::Line, "e-enrol".to_owned())),
        conversation: Some(Conversation::default()),
        case: Some(stale),
        chat_change: Some(chat_change.clone()),
        ..TurnWrite::new(chat.clone(), Utc::now())
    }
}

/// An enrolment is part of its turn: a turn that fails spends no code and grants no
/// role, so the staff member's redelivered message still enrols them.
#[test]
fn a_failed_turn_spends_no_enrolment_code() {
    let store = Store::temporary().unwrap();
    let engineer = ChatKey::new(Channel::Line, "Uengineer");
    let role = crate::domain::role::Role::Staff {
        division: "engineering".to_owned(),
    };
    let code = store
        .create_enrol_code(&role, Utc::now() + chrono::Duration::days(1))
        .unwrap();
    let enrolment = store.plan_enrolment(&code, Utc::now()).unwrap();
    assert_eq!(enrolment.role(), Some(&role));
    let change = ChatChange::RedeemEnrolCode(enrolment);
    let turn = turn_that_fails(&store, &engineer, &change);
    let result = store.commit_turns(&[turn]);
    assert!(matches!(result, Err(Error::Conflict)));
    assert_eq!(store.conversation(&engineer).unwrap(), None);
    assert_eq!(
        store.role_of(&engineer).unwrap(),
        crate::domain::role::Role::Resident
    );
    assert_eq!(
        store
            .redeem_enrol_code(&engineer, &code, Utc::now())
            .unwrap(),
        Some(role.clone()),
        "the code is still good"
    );
    assert_eq!(store.role_of(&engineer).unwrap(), role);
}

/// A link code the same: a failed turn links nobody and leaves the code to be sent again.
#[test]
fn a_failed_turn_spends_no_link_code() {
    let store = Store::temporary().unwrap();
    let line = ChatKey::new(Channel::Line, "U1");
    let telegram = ChatKey::new(Channel::Telegram, "42");
    let now = Utc::now();
    store
        .issue_link_code(&line, "123456", now + chrono::Duration::minutes(10))
        .unwrap();
    let redemption = store
        .plan_link_redemption(&telegram, "123456", now)
        .unwrap();
    assert_eq!(redemption.linked(), crate::domain::Linked::Done);
    let change = ChatChange::RedeemLinkCode(redemption);
    let turn = turn_that_fails(&store, &telegram, &change);
    assert!(store.commit_turns(&[turn]).is_err());
    assert_eq!(store.identities(&telegram).unwrap(), vec![telegram.clone()]);
    assert_eq!(
        store.redeem_link_code(&telegram, "123456", now).unwrap(),
        crate::domain::Linked::Done
    );
    assert_eq!(store.identities(&telegram).unwrap().len(), 2);
}

/// A code read as good, then spent by someone else before the turn commits: the turn
/// conflicts and writes nothing (no role, no conversation); read again, it is spent.
#[test]
fn a_code_spent_meanwhile_makes_the_turn_conflict() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Line, "Ualice");
    let bob = ChatKey::new(Channel::Telegram, "7");
    let role = crate::domain::role::Role::IntegrityOfficer;
    let code = store
        .create_enrol_code(&role, Utc::now() + chrono::Duration::days(1))
        .unwrap();
    let stale = ChatChange::RedeemEnrolCode(store.plan_enrolment(&code, Utc::now()).unwrap());
    assert_eq!(
        store.redeem_enrol_code(&bob, &code, Utc::now()).unwrap(),
        Some(role.clone())
    );
    let conversation = Conversation::default();
    let turn = |change| Turn {
        chat: &alice,
        event: Some((Channel::Line, "e-alice")),
        conversation: Some(&conversation),
        change: None,
        chat_change: Some(change),
        now: Utc::now(),
        forwards: &no_forwards,
        reply: None,
        keep: None,
        dequeue: None,
        release_held: 0,
        audit: Vec::new(),
    };
    assert!(matches!(
        store.commit_turn(turn(&stale)),
        Err(Error::Conflict)
    ));
    assert_eq!(store.conversation(&alice).unwrap(), None);
    assert_eq!(store.outcome(Channel::Line, "e-alice").unwrap(), None);

    let fresh = store.plan_enrolment(&code, Utc::now()).unwrap();
    assert_eq!(fresh.role(), None, "spent by bob");
    store
        .commit_turn(turn(&ChatChange::RedeemEnrolCode(fresh)))
        .unwrap();
    assert_eq!(
        store.role_of(&alice).unwrap(),
        crate::domain::role::Role::Resident
    );
    assert_eq!(store.role_of(&bob).unwrap(), role);
}

/// Once delivered, an answer about no case is forgotten (the outbox does not grow with
/// the questions residents ask); an answer about a case stays, trimmed to "sent".
#[test]
fn a_delivered_answer_is_forgotten_unless_a_case_refers_to_it() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Line, "Ualice");
    let answer = |_: Option<&Case>| {
        Some(Outgoing {
            route: Route::Channel {
                channel: Channel::Line,
            },
            body: Body::from(&serde_json::json!({ "to": "Ualice", "messages": [] })),
            sensitive: false,
            reply_by_ms: None,
        })
    };
    let answered = |change: Option<CaseChange>| {
        store
            .commit_turn(Turn {
                chat: &alice,
                event: None,
                conversation: Some(&Conversation::default()),
                change,
                chat_change: None,
                now: Utc::now(),
                forwards: &no_forwards,
                reply: Some(&answer),
                keep: None,
                dequeue: None,
                release_held: 0,
                audit: Vec::new(),
            })
            .unwrap()
    };
    answered(None);
    answered(Some(CaseChange::File {
        case: Box::new(new_case(CaseKind::Complaint, &alice)),
        receipt_hash: None,
    }));
    let due = store.due_deliveries(Utc::now(), 10).unwrap();
    assert_eq!(due.len(), 2);
    for mut delivery in due {
        let was_due = delivery.next_attempt_ms;
        delivery.state = DeliveryState::Delivered;
        store.update_delivery(was_due, &delivery).unwrap();
    }
    let kept: Vec<Delivery> = store.all_deliveries().map(Result::unwrap).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].case_id.is_some());
    assert_eq!(kept[0].body.json()["sent"], true);
    assert!(store.due_deliveries(Utc::now(), 10).unwrap().is_empty());
}

/// A delivery knows its reply token's time from its own field; one written before the
/// field (version 1) still finds it in its body, so a restart after an upgrade neither
/// loses a fresh token nor spends a stale one.
#[test]
fn a_delivery_knows_its_reply_token_with_or_without_the_field() {
    let now = Utc::now();
    let in_a_minute = unix_ms(now) + 60_000;
    let body = Body::from(&serde_json::json!({
        "to": "U1", "reply_token": "t", "reply_by_ms": in_a_minute, "messages": [],
    }));
    let chat = Route::Channel {
        channel: Channel::Line,
    };
    let mut written = Delivery::new(1, chat, None, body, now);
    assert!(
        !written.has_fresh_reply_token(now),
        "the field is what counts"
    );
    written.reply_by_ms = Some(in_a_minute);
    assert!(written.has_fresh_reply_token(now));
    assert!(!written.has_fresh_reply_token(now + chrono::Duration::minutes(2)));

    let mut old: serde_json::Value = serde_json::to_value(&written).unwrap();
    old["v"] = 1.into();
    old.as_object_mut().unwrap().remove("reply_by_ms");
    let old: Delivery = serde_json::from_value(old).unwrap();
    assert!(old.has_fresh_reply_token(now), "read from the body");
}

/// A delivery's route reads back as written, whatever the order of its fields.
#[test]
fn routes_read_back_as_written() {
    for route in [
        Route::Destination {
            id: "finance".into(),
        },
        Route::Channel {
            channel: Channel::Line,
        },
    ] {
        let json = serde_json::to_string(&route).unwrap();
        assert_eq!(
            serde_json::from_str::<Route>(&json).unwrap(),
            route,
            "{json}"
        );
    }
    assert_eq!(
        serde_json::from_str::<Route>(r#"{"channel":"telegram","kind":"channel"}"#).unwrap(),
        Route::Channel {
            channel: Channel::Telegram
        }
    );
    assert!(serde_json::from_str::<Route>(r#"{"kind":"destination"}"#).is_err());
}

/// A person's chats are found through the person's own index: two people who each
/// linked two chats, then linked to each other, are one person of four chats, and a
/// chat linked to nobody stays alone. A store written before the index has it built
/// at opening.
#[test]
fn linked_chats_are_found_through_each_persons_index() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c, d, alone] = [
        ChatKey::new(Channel::Line, "Ua"),
        ChatKey::new(Channel::Telegram, "1002"),
        ChatKey::new(Channel::Line, "Uc"),
        ChatKey::new(Channel::Web, "session-d"),
        ChatKey::new(Channel::Line, "Ualone"),
    ];
    let in_order = |mut chats: Vec<ChatKey>| {
        chats.sort_by_key(keys::chat);
        chats
    };
    let everyone = in_order(vec![a.clone(), b.clone(), c.clone(), d.clone()]);
    let now = Utc::now();
    {
        let store = Store::open(dir.path()).unwrap();
        let link = |from: &ChatKey, to: &ChatKey, code: &str| {
            store
                .issue_link_code(from, code, now + chrono::Duration::minutes(10))
                .unwrap();
            assert_eq!(
                store.redeem_link_code(to, code, now).unwrap(),
                crate::domain::Linked::Done
            );
        };
        link(&a, &b, "111111");
        link(&c, &d, "222222");
        assert_eq!(
            in_order(store.identities(&d).unwrap()),
            in_order(vec![c.clone(), d.clone()])
        );
        link(&b, &c, "333333");
        for chat in &everyone {
            assert_eq!(in_order(store.identities(chat).unwrap()), everyone);
        }
        assert_eq!(store.identities(&alone).unwrap(), vec![alone.clone()]);
        // As a store written before the index: neither the index nor its mark.
        store.person_chatkey.clear().unwrap();
        store.meta.remove(b"people_chats_indexed").unwrap();
        store.sync_blocking().unwrap();
    }
    let store = reopen(dir.path());
    for chat in &everyone {
        assert_eq!(in_order(store.identities(chat).unwrap()), everyone);
    }
    assert_eq!(store.identities(&alone).unwrap(), vec![alone]);
}

/// A chat message with every kind of reply, Thai text and a multicast list.
fn every_kind_of_message() -> crate::delivery::ChannelMessage {
    use crate::engine::{Card, Choice, Outbound};
    let choice = |label: &str, payload: &str| Choice {
        label: label.to_owned(),
        payload: payload.to_owned(),
    };
    crate::delivery::ChannelMessage {
        to: "Uผู้ใหญ่บ้าน".to_owned(),
        to_many: vec!["U1".to_owned(), "U2".to_owned()],
        reply_token: Some("token-ไทย".to_owned()),
        reply_by_ms: Some(unix_ms(Utc::now()) + 60_000),
        messages: vec![
            Outbound::Text {
                text: "เรื่องร้องเรียนเลขที่ ร-๒๕๖๙/๐๐๑ \"ได้รับแล้ว\"".to_owned(),
            },
            Outbound::QuickReplies {
                text: "เลือก".to_owned(),
                choices: vec![choice("ใช่", "yes"), choice("ไม่", "no")],
            },
            Outbound::Card(Card {
                title: "มาตรการ".to_owned(),
                lines: vec!["กองคลัง".to_owned(), String::new()],
                buttons: vec![choice("ดู", "m:1")],
            }),
        ],
        human_agent: true,
    }
}

#[test]
fn a_delivery_reads_back_from_its_binary_record_as_it_was_written() {
    use crate::store::delivery_record::{decode_delivery, encode_delivery};
    let now = Utc::now();
    let mut chat = Delivery::new(
        7,
        Route::Channel {
            channel: Channel::Messenger,
        },
        Some(42),
        Body::Chat(every_kind_of_message()),
        now,
    );
    chat.attempts = 2;
    chat.progress = 1;
    chat.reply_tried = true;
    chat.marked_in = Some(9);
    chat.sensitive = true;
    chat.last_error = Some("429 ช้าลง".to_owned());
    chat.finished_at = Some(now + chrono::Duration::nanoseconds(123_456_789));
    chat.update_id = Some(3);
    chat.reply_by_ms = Some(unix_ms(now) + 60_000);
    let mut forward = Delivery::new(
        8,
        Route::Destination {
            id: "คลัง-hook".to_owned(),
        },
        None,
        Body::from(&serde_json::json!({ "event": "filed", "case": { "code": "ร-1" } })),
        now,
    );
    forward.state = DeliveryState::Dead;
    let sent = Delivery::new(
        9,
        chat.route.clone(),
        None,
        Body::Sent { n_recipients: 2 },
        now,
    );
    let wiped = Delivery::new(10, chat.route.clone(), None, Body::Wiped, now);
    for delivery in [chat, forward, sent, wiped] {
        let record = encode_delivery(&delivery).unwrap();
        assert_eq!(record[0], 3, "a version byte, then postcard");
        let read = decode_delivery("due_delivery", &record).unwrap();
        assert_eq!(format!("{read:?}"), format!("{delivery:?}"));
        let json = serde_json::to_vec(&delivery).unwrap();
        assert!(
            record.len() < json.len(),
            "{} bytes in binary, {} as JSON",
            record.len(),
            json.len()
        );
    }
    assert!(matches!(
        decode_delivery("due_delivery", &[3, 0xff, 0xff]),
        Err(Error::Binary { .. })
    ));
}

#[test]
fn a_delivery_written_as_json_by_an_earlier_version_is_still_sent_and_written_back() {
    let store = Store::temporary().unwrap();
    let now = Utc::now();
    let message = every_kind_of_message();
    let mut old = Delivery::new(
        5,
        Route::Channel {
            channel: Channel::Line,
        },
        Some(1),
        Body::Chat(message.clone()),
        now,
    );
    old.v = 2;
    old.reply_by_ms = old.body.chat_message().unwrap().reply_by_ms;
    // What version 2 wrote: the whole record as JSON.
    store
        .due_delivery
        .insert(
            keys::due(old.next_attempt_ms, old.id),
            serde_json::to_vec(&old).unwrap(),
        )
        .unwrap();

    let mut due = store.due_deliveries(now, 10).unwrap();
    assert_eq!(due.len(), 1);
    let read = due.remove(0);
    assert_eq!(read.v, 2);
    assert!(
        matches!(read.body, Body::Json(_)),
        "kept as the JSON it was"
    );
    assert_eq!(read.body.chat_message().unwrap(), message);
    assert!(read.has_fresh_reply_token(now));
    assert_eq!(read.body.recipients(), 2);

    // Written back (delivered, kept for its case): now binary, trimmed to its count.
    let mut delivered = read;
    delivered.state = DeliveryState::Delivered;
    store
        .finish_deliveries(vec![(old.next_attempt_ms, delivered)])
        .unwrap();
    let kept = store.delivery(5).unwrap().unwrap();
    assert_eq!(kept.v, 3);
    assert_eq!(kept.body, Body::Sent { n_recipients: 2 });
    assert!(store.due_deliveries(now, 10).unwrap().is_empty());
}

/// Turns commit together or not at all: one whose case changed since it was planned
/// fails the batch, and the others' writes (a conversation, an answer, a queue entry)
/// are not made either. Planned again, it applies to the case as it now is.
#[test]
fn a_case_changed_since_its_turn_was_planned_fails_the_whole_batch() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Line, "Ualice");
    let bob = ChatKey::new(Channel::Line, "Ubob");
    let now = Utc::now();
    let case = file(&store, new_case(CaseKind::Complaint, &alice), None, now);
    let withdraw = CaseChange::Withdraw { case_id: case.id };
    let (stale, notices) = store.plan_case_change(withdraw.clone(), now).unwrap();
    assert_eq!(notices, vec![Notice::Withdrawn]);
    assert_eq!(stale.case().status, Status::Withdrawn);
    // Staff answer meanwhile.
    store
        .commit_case_change(
            &ChatKey::new(Channel::Dashboard, "somchai"),
            CaseChange::StaffAnswer {
                case_id: case.id,
                text: "กำลังดำเนินการ".to_owned(),
            },
            now,
        )
        .unwrap();
    let answer = Outgoing {
        route: Route::Channel {
            channel: Channel::Line,
        },
        body: Body::from(&serde_json::json!({ "to": "Ubob", "messages": [] })),
        sensitive: false,
        reply_by_ms: None,
    };
    let bobs_question = TurnWrite {
        conversation: Some(Conversation::default()),
        outgoing: vec![answer],
        ..TurnWrite::new(bob.clone(), now)
    };
    let alices_withdrawal = TurnWrite {
        conversation: Some(Conversation::default()),
        case: Some(stale),
        ..TurnWrite::new(alice.clone(), now)
    };
    let n_deliveries = store.all_deliveries().count();
    let result = store.commit_turns(&[bobs_question, alices_withdrawal]);
    assert!(matches!(result, Err(Error::Conflict)), "{result:?}");
    assert_eq!(store.conversation(&bob).unwrap(), None);
    assert_eq!(
        store.all_deliveries().count(),
        n_deliveries,
        "bob's answer too"
    );
    let stored = store.case(case.id).unwrap().unwrap();
    assert_eq!(stored.status, Status::Received, "not withdrawn");
    assert_eq!(store.open_cases().count(), 1);

    // Planned again: withdrawn, with the staff answer still in its history.
    let again = store.commit_case_change(&alice, withdraw, now).unwrap();
    assert_eq!(again.status, Status::Withdrawn);
    assert!(again.events.iter().any(|event| matches!(
        &event.kind,
        crate::domain::case::CaseEventKind::StaffAnswer { .. }
    )));
    assert_eq!(store.open_cases().count(), 0);
}

/// Two filings planned at once read the same next number: the first to commit takes
/// it, the second conflicts, and planned again gets the next one. No two cases share
/// a code.
#[test]
fn two_filings_planned_at_once_never_share_a_code() {
    let store = Store::temporary().unwrap();
    let alice = ChatKey::new(Channel::Web, "alice");
    let bob = ChatKey::new(Channel::Web, "bob");
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 4, 0, 0).unwrap();
    let filing = |reporter: &ChatKey| CaseChange::File {
        case: Box::new(new_case(CaseKind::Complaint, reporter)),
        receipt_hash: None,
    };
    let (first, _) = store.plan_case_change(filing(&alice), now).unwrap();
    let (second, _) = store.plan_case_change(filing(&bob), now).unwrap();
    assert_eq!(first.case().code, "CP-2569-0001");
    assert_eq!(
        second.case().code,
        "CP-2569-0001",
        "both read the same number"
    );
    assert_ne!(first.case().id, second.case().id);
    // In one batch, the second sees the first's number taken: neither is written.
    let both = [
        TurnWrite {
            case: Some(first),
            ..TurnWrite::new(alice.clone(), now)
        },
        TurnWrite {
            case: Some(second),
            ..TurnWrite::new(bob.clone(), now)
        },
    ];
    assert!(matches!(store.commit_turns(&both), Err(Error::Conflict)));
    assert_eq!(store.n_cases(), 0);
    let [first, second] = both;
    store.commit_turns(&[first]).unwrap();
    assert!(matches!(
        store.commit_turns(&[second]),
        Err(Error::Conflict)
    ));
    let bobs = store.commit_case_change(&bob, filing(&bob), now).unwrap();
    assert_eq!(bobs.code, "CP-2569-0002");
    let codes: Vec<String> = store.all_cases().map(|case| case.unwrap().code).collect();
    assert_eq!(codes, ["CP-2569-0001", "CP-2569-0002"]);
    assert_eq!(store.cases_of(&alice).unwrap().len(), 1);
    assert_eq!(store.cases_of(&bob).unwrap().len(), 1);
}
