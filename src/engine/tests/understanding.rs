//! What residents type, and what the bot must make of it: the table in
//! `tests/data/resident_messages.txt` (message | intent | fact), checked row by row in
//! the `check(input, expect)` style, with every failing row shown on failure.

use super::*;

const TABLE: &str = include_str!("../../../tests/data/resident_messages.txt");
/// Knowledge answers must stay short enough to read on a phone.
const MAX_MEDIAN_ANSWER_CHARS: usize = 350;

/// One row of the table.
struct Expect<'t> {
    line: usize,
    message: &'t str,
    intent: &'t str,
    fact: &'t str,
}

/// What the bot did with a message.
struct Seen {
    intent: String,
    replies: String,
    /// Characters a resident reads (texts, card titles and lines; not button labels).
    n_chars: usize,
    /// The most passages of the plan quoted in one card.
    max_passages: usize,
    n_cards: usize,
}

fn table() -> Vec<Expect<'static>> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(idx, line)| {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            assert_eq!(parts.len(), 3, "line {}: {line}", idx + 1);
            Expect {
                line: idx + 1,
                message: parts[0],
                intent: parts[1],
                fact: parts[2],
            }
        })
        .collect()
}

/// The sender's own cases, as the table's header says.
fn own_cases(sender: &ChatKey) -> Vec<Case> {
    let mut complaint = stored_case(sender);
    complaint.id = 1;
    complaint.code = "CP-2569-0001".to_owned();
    complaint.status = Status::Received;
    complaint.events.truncate(1);
    let mut suggestion = stored_case(sender);
    suggestion.id = 2;
    suggestion.code = "SG-2569-0002".to_owned();
    suggestion.kind = CaseKind::Suggestion;
    suggestion.status = Status::Received;
    suggestion.events.truncate(1);
    vec![complaint, suggestion]
}

/// Sends `message` as a resident's first message and reads what happened.
fn see(engine: &Engine, message: &str) -> Seen {
    let sender = ChatKey::new(Channel::Web, "resident-1");
    let cases = Cases(RefCell::new(own_cases(&sender)));
    let inbound = Inbound {
        event_id: None,
        sender: sender.clone(),
        conversation: sender.user.clone(),
        kind: InboundKind::Text(message.to_owned()),
        received_at: Utc::now(),
        lang_hint: None,
    };
    let step = engine
        .step(Conversation::default(), &inbound, &cases)
        .unwrap();
    let reading = engine.read(message);
    let mut intent = reading.intent.as_str().to_owned();
    // A flow that started says more than the reading: what the resident now sees.
    if let Flow::Intake(intake) = &step.conversation.flow {
        let kind = match intake.kind {
            CaseKind::Complaint => "complain",
            CaseKind::Suggestion => "suggest",
            CaseKind::Corruption => "corruption",
            CaseKind::Question => "question",
        };
        intent = if intake.kind == CaseKind::Corruption && reading.asks_anonymity {
            "corruption+anon".to_owned()
        } else if intake.description.is_some() {
            format!("{kind}+text")
        } else {
            kind.to_owned()
        };
    }
    let n_chars = step
        .replies
        .iter()
        .map(|reply| match reply {
            Outbound::Text { text } | Outbound::QuickReplies { text, .. } => text.chars().count(),
            Outbound::Card(card) => {
                card.title.chars().count()
                    + card
                        .lines
                        .iter()
                        .map(|l| l.chars().count() + 1)
                        .sum::<usize>()
            }
        })
        .sum();
    let cards = step.replies.iter().filter_map(|reply| match reply {
        Outbound::Card(card) => Some(card),
        _ => None,
    });
    let max_passages = cards
        .clone()
        .map(|card| {
            card.lines
                .iter()
                .filter(|line| {
                    line.starts_with('“')
                        || line.starts_with("ตามแผน:")
                        || line.starts_with("The plan says:")
                })
                .count()
        })
        .max()
        .unwrap_or(0);
    Seen {
        intent,
        replies: render(&step.replies),
        n_chars,
        max_passages,
        n_cards: cards.count(),
    }
}

/// Checks one row; the difference as a resident would notice it, if any.
fn check(engine: &Engine, expect: &Expect<'_>, seen: &Seen) -> Option<String> {
    let intent_ok = seen.intent == expect.intent;
    let fact_ok = expect.fact.is_empty()
        || seen
            .replies
            .to_lowercase()
            .contains(&expect.fact.to_lowercase());
    if intent_ok && fact_ok {
        return None;
    }
    let mut diff = format!("line {}: {}\n", expect.line, expect.message);
    diff.push_str(&format!(
        "  - expected: {}{}\n",
        expect.intent,
        if expect.fact.is_empty() {
            String::new()
        } else {
            format!(" · “{}”", expect.fact)
        }
    ));
    diff.push_str(&format!(
        "  + got:      {}{}\n",
        seen.intent,
        if fact_ok { "" } else { " · fact missing" }
    ));
    let reply: String = seen.replies.chars().take(300).collect();
    diff.push_str(&format!("    reply: {}\n", reply.replace('\n', " ⏎ ")));
    if std::env::var_os("EXPLAIN").is_some() {
        diff.push_str(&engine.explain_question(expect.message));
        diff.push('\n');
    }
    Some(diff)
}

#[test]
fn resident_messages_are_understood() {
    let engine = engine();
    let rows = table();
    assert!(rows.len() >= 200, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    let mut plan_lengths = Vec::new();
    for expect in &rows {
        let seen = see(&engine, expect.message);
        if expect.intent == "plan" {
            plan_lengths.push((seen.n_chars, expect.message));
            // A plan answer: at most two passages of the plan, in one card (two when
            // two items tie).
            if seen.max_passages > 2 || seen.n_cards > 2 {
                failures.push(format!(
                    "line {}: {}\n  {} passages in a card, {} cards\n",
                    expect.line, expect.message, seen.max_passages, seen.n_cards
                ));
            }
        }
        failures.extend(check(&engine, expect, &seen));
    }
    plan_lengths.sort_unstable();
    let median = plan_lengths
        .get(plan_lengths.len() / 2)
        .map_or(0, |(n, _)| *n);
    let (longest, longest_message) = plan_lengths.last().copied().unwrap_or((0, ""));
    eprintln!(
        "resident messages: {} of {} understood; plan answers: median {median} characters, \
         longest {longest} (\"{longest_message}\")",
        rows.len() - failures.len(),
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows differ (EXPLAIN=1 shows why):\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(
        median < MAX_MEDIAN_ANSWER_CHARS,
        "median plan answer {median} characters"
    );
}
