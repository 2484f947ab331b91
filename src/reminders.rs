//! The daily reminder of overdue cases: each division's bound group chats get, once a
//! working day, the list of its cases past their acknowledgement or resolution deadline.
//!
//! "Once" is kept by the store (`Store::enqueue_once`, keyed by group and Bangkok date),
//! so a restart or a second server does not remind twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};

use crate::calendar::{self, Holidays, Overdue};
use crate::config::Settings;
use crate::delivery::ChannelMessage;
use crate::domain::case::Case;
use crate::domain::Lang;
use crate::engine::{Card, Outbound};
use crate::store::{Outgoing, Route, Store};

/// Cases one reminder lists at most; the rest are counted.
const MAX_LISTED: usize = 20;

/// Sends today's reminders that are not sent yet, if today is a working day in Bangkok
/// and its reminder hour has come. Returns how many group chats were reminded.
pub fn send_due(
    store: &Store,
    settings: &Settings,
    holidays: &Holidays,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let today = calendar::bangkok_date(now);
    // Not before the hour (a restart at night must not remind then), not on a day off.
    let hour = chrono::Timelike::hour(&now.with_timezone(&crate::thai::bangkok()));
    if hour < settings.deadlines.reminder_hour || !holidays.is_working_day(today) {
        return Ok(0);
    }
    let mut overdue: Vec<(Case, Overdue)> = Vec::new();
    // Only an open case can be overdue.
    for case in store.open_cases() {
        let case = case?;
        if let Some(why) = calendar::overdue(&settings.deadlines, holidays, &case, now) {
            overdue.push((case, why));
        }
    }
    let mut n_reminded = 0;
    for group in store.groups()? {
        let Some(division) = group
            .division
            .as_deref()
            .filter(|_| group.left_at.is_none())
        else {
            continue;
        };
        // Corruption complaints are never listed in a group chat.
        let theirs: Vec<&(Case, Overdue)> = overdue
            .iter()
            .filter(|(case, _)| {
                case.kind != crate::domain::case::CaseKind::Corruption
                    && case.concerns_division(division)
            })
            .collect();
        if theirs.is_empty() {
            continue;
        }
        let message = ChannelMessage {
            to: group.id.clone(),
            to_many: Vec::new(),
            reply_token: None,
            reply_by_ms: None,
            messages: vec![reminder_card(settings, holidays, &theirs)],
            human_agent: false,
        };
        let outgoing = Outgoing {
            route: Route::Channel {
                channel: group.channel,
            },
            body: crate::store::Body::Chat(message),
            sensitive: false,
            reply_by_ms: None,
        };
        let marker = format!("reminder:{}:{}:{today}", group.channel, group.id);
        if store.enqueue_once(&marker, vec![outgoing], now)? {
            n_reminded += 1;
        }
    }
    Ok(n_reminded)
}

fn reminder_card(settings: &Settings, holidays: &Holidays, cases: &[&(Case, Overdue)]) -> Outbound {
    let mut lines: Vec<String> = cases
        .iter()
        .take(MAX_LISTED)
        .map(|(case, why)| {
            let due = calendar::deadlines(&settings.deadlines, holidays, case);
            let (what, by) = match why {
                Overdue::Acknowledgement => ("ยังไม่รับเรื่อง", due.accept_by),
                Overdue::Resolution => ("ยังไม่แล้วเสร็จ", due.resolve_by),
            };
            let by = crate::thai::format_date(
                calendar::due_date(by).and_time(NaiveTime::MIN).and_utc(),
                Lang::Th,
            );
            format!("• {} · {what} · กำหนด {by}", case.code)
        })
        .collect();
    if cases.len() > MAX_LISTED {
        lines.push(format!("และอีก {} เรื่อง", cases.len() - MAX_LISTED));
    }
    lines.push("พิมพ์ \"เปิด เลขเรื่อง\" เพื่อดูรายละเอียด".to_owned());
    Outbound::Card(Card {
        title: format!("เรื่องเกินกำหนด {} เรื่อง", cases.len()),
        lines,
        buttons: Vec::new(),
    })
}

/// Runs `send_due` every day at the configured hour, Bangkok time, and once at start (a
/// reminder missed while the server was down goes out when it is back, the same day).
pub async fn run(store: Store, settings: Arc<Settings>, holidays: Arc<Holidays>) {
    loop {
        let job = {
            let (store, settings, holidays) =
                (store.clone(), Arc::clone(&settings), Arc::clone(&holidays));
            tokio::task::spawn_blocking(move || send_due(&store, &settings, &holidays, Utc::now()))
        };
        match job.await {
            Ok(Ok(0)) => {}
            Ok(Ok(n_groups)) => tracing::info!(n_groups, "overdue reminders queued"),
            Ok(Err(error)) => tracing::warn!(error = ?error, "cannot send overdue reminders"),
            Err(error) => tracing::warn!(%error, "the reminder task failed"),
        }
        tokio::time::sleep(until_next(Utc::now(), settings.deadlines.reminder_hour)).await;
    }
}

/// How long until the next `hour`:00 in Bangkok.
fn until_next(now: DateTime<Utc>, hour: u32) -> Duration {
    let local = now.with_timezone(&crate::thai::bangkok());
    let today_at = local
        .date_naive()
        .and_hms_opt(hour.min(23), 0, 0)
        .unwrap_or_default();
    let mut next = today_at
        .and_local_timezone(crate::thai::bangkok())
        .single()
        .map_or(now, |at| at.with_timezone(&Utc));
    if next <= now {
        next += chrono::Duration::days(1);
    }
    (next - now).to_std().unwrap_or(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseKind, NewCase};
    use crate::domain::change::CaseChange;
    use crate::domain::{Channel, ChatKey};

    fn file(store: &Store, kind: CaseKind, category: &str, division: &str, at: DateTime<Utc>) {
        let reporter = ChatKey::new(Channel::Line, "Uresident");
        store
            .commit_case_change(
                &reporter,
                CaseChange::File {
                    case: Box::new(NewCase {
                        kind,
                        category: category.to_owned(),
                        division: division.to_owned(),
                        text: "ท่อระบายน้ำอุดตัน".to_owned(),
                        location: None,
                        place: None,
                        photos: Vec::new(),
                        contact: None,
                        reporter: reporter.clone(),
                        anonymous: false,
                    }),
                    receipt_hash: None,
                },
                at,
            )
            .unwrap();
    }

    #[test]
    fn a_division_chat_is_reminded_of_its_overdue_cases_once_a_working_day() {
        let settings = Settings::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tambon.toml"),
        )
        .unwrap();
        let holidays = Holidays::empty();
        let store = Store::temporary().unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Filed on Monday 16 November 2026; 3 working days later it is overdue.
        file(
            &store,
            CaseKind::Complaint,
            "roads",
            "engineering",
            at("2026-11-16T03:00:00Z"),
        );
        file(
            &store,
            CaseKind::Corruption,
            "cc-procure",
            "integrity",
            at("2026-11-16T03:00:00Z"),
        );
        file(
            &store,
            CaseKind::Complaint,
            "budget",
            "finance",
            at("2026-11-25T03:00:00Z"),
        );
        store
            .group_joined(Channel::Line, "Cengineering", at("2026-11-01T00:00:00Z"))
            .unwrap();
        store
            .bind_group(Channel::Line, "Cengineering", Some("engineering"))
            .unwrap();
        store
            .group_joined(Channel::Telegram, "-100finance", at("2026-11-01T00:00:00Z"))
            .unwrap();
        store
            .bind_group(Channel::Telegram, "-100finance", Some("finance"))
            .unwrap();

        // Wednesday 25 November 2026, 08:00 in Bangkok.
        let wednesday = at("2026-11-25T01:00:00Z");
        assert_eq!(
            send_due(&store, &settings, &holidays, wednesday).unwrap(),
            1
        );
        let sent: Vec<String> = store
            .all_deliveries()
            .map(|d| d.unwrap().body.json_text().into_owned())
            .collect();
        assert_eq!(sent.len(), 1, "finance's only case is new: {sent:?}");
        assert!(
            sent[0].contains("Cengineering") && sent[0].contains("CP-2569-0001"),
            "{sent:?}"
        );
        assert!(sent[0].contains("ยังไม่รับเรื่อง"), "{sent:?}");
        assert!(
            !sent[0].contains("CC-"),
            "never a corruption complaint: {sent:?}"
        );
        // Again the same day (a restart): nothing more.
        assert_eq!(
            send_due(
                &store,
                &settings,
                &holidays,
                wednesday + chrono::Duration::hours(3)
            )
            .unwrap(),
            0
        );
        // Before the hour: not yet (a restart at night sends nothing).
        let tuesday_night = at("2026-11-30T20:00:00Z");
        assert_eq!(
            send_due(&store, &settings, &holidays, tuesday_night).unwrap(),
            0
        );
        // Saturday: no reminder; Monday: again.
        assert_eq!(
            send_due(&store, &settings, &holidays, at("2026-11-28T01:00:00Z")).unwrap(),
            0
        );
        assert_eq!(
            send_due(&store, &settings, &holidays, at("2026-11-30T01:00:00Z")).unwrap(),
            1
        );
    }

    #[test]
    fn the_next_reminder_is_at_the_hour_in_bangkok() {
        // 01:00 UTC is 08:00 in Bangkok: the next 08:00 is a day later; 00:30 UTC is
        // 07:30 in Bangkok: half an hour.
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            until_next(at("2026-11-25T01:00:00Z"), 8),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            until_next(at("2026-11-25T00:30:00Z"), 8),
            Duration::from_secs(1800)
        );
    }
}
