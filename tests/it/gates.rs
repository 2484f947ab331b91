//! Properties of each platform's webhook gate and wire parser, without a server: the
//! functions the routes call (`channels::webhook`, each channel's `signature` and `wire`),
//! fed arbitrary and mutated bodies. Nothing panics; a body without the right signature
//! is refused before it is parsed; a rightly signed body is accepted; and what tambon
//! reads of an event is what the platform sent.

use axum::body::Bytes;
use axum::http::StatusCode;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::Value;
use tambon::channels::webhook::{authenticated_body, parse_json, Refused};
use tambon::channels::{line, messenger, telegram, web};

use crate::strategies::{
    awkward_text, body_from, line_body, line_event, messenger_body, messenger_item, telegram_body,
    telegram_update, web_request,
};

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

const LINE_SECRET: &str = "line-channel-secret";
const APP_SECRET: &str = "messenger-app-secret";
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";

/// Which wrong credential a request carries.
#[derive(Clone, Debug)]
enum Forgery {
    Missing,
    /// Signed, but under another secret.
    OtherSecret(String),
    /// The signature of another body.
    OtherBody(Vec<u8>),
    /// The right signature with one character changed.
    OneCharChanged(prop::sample::Index, char),
    /// Anything at all.
    Garbage(String),
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        Just(Forgery::Missing),
        "[ -~]{0,40}".prop_map(Forgery::OtherSecret),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Forgery::OtherBody),
        (any::<prop::sample::Index>(), any::<char>())
            .prop_map(|(i, c)| Forgery::OneCharChanged(i, c)),
        awkward_text().prop_map(Forgery::Garbage),
    ]
}

/// The credential `forgery` makes for `body`, given how the platform signs; `None` when
/// the forgery would happen to be the right one (a different body with the same bytes).
fn forge(
    forgery: &Forgery,
    body: &[u8],
    right_secret: &str,
    sign: impl Fn(&SecretString, &[u8]) -> String,
) -> Option<String> {
    let right = sign(&secret(right_secret), body);
    let forged = match forgery {
        Forgery::Missing => String::new(),
        Forgery::OtherSecret(other) => sign(&secret(other), body),
        Forgery::OtherBody(other) => sign(&secret(right_secret), other),
        Forgery::OneCharChanged(at, c) => {
            let mut chars: Vec<char> = right.chars().collect();
            let i = at.index(chars.len());
            chars[i] = *c;
            chars.into_iter().collect()
        }
        Forgery::Garbage(text) => text.clone(),
    };
    // Only a forgery that differs from the right signature in more than white space
    // (which the checks trim) can be required to fail.
    (forged.trim() != right).then_some(forged)
}

/// What the LINE route does with a body and its `x-line-signature`: the gate, then the
/// callback request, then each event on its own.
fn line_route(body: &[u8], signature: &str) -> Result<Vec<line::wire::Event>, Refused> {
    let body = authenticated_body(
        "LINE",
        Ok(Bytes::copy_from_slice(body)),
        signature.as_bytes(),
        |body| line::signature::verify(&secret(LINE_SECRET), body, signature),
    )?;
    let request: line::wire::CallbackRequest = parse_json("LINE", &body)?;
    Ok(request
        .events
        .into_iter()
        .filter_map(|raw| {
            let event: line::wire::Event = serde_json::from_str(raw.get()).ok()?;
            // What the route and the worker ask of every event.
            let _ = (
                event.dedupe_key(raw.get()),
                event.is_standby(),
                event.is_redelivery(),
            );
            Some(event)
        })
        .collect())
}

/// What the Messenger route does with a body and its `x-hub-signature-256`.
fn messenger_route(body: &[u8], header: &str) -> Result<Vec<messenger::wire::Item>, Refused> {
    let body = authenticated_body(
        "Messenger",
        Ok(Bytes::copy_from_slice(body)),
        header.as_bytes(),
        |body| messenger::signature::verify(&secret(APP_SECRET), body, header),
    )?;
    let request: messenger::wire::Body = parse_json("Messenger", &body)?;
    Ok(request
        .entry
        .into_iter()
        .flat_map(|entry| entry.messaging.into_iter().chain(entry.standby))
        .map(|raw| {
            let item: messenger::wire::Item =
                serde_json::from_value(raw.clone()).unwrap_or_default();
            let _ = (
                item.is_answerable(),
                item.dedupe_key(&raw),
                item.sender_id(),
            );
            item
        })
        .collect())
}

/// What the Telegram route does with a body and its secret-token header: the gate, the
/// update id; then what the worker does, teloxide's parse.
fn telegram_route(
    body: &[u8],
    token: &[u8],
) -> Result<(u32, Option<teloxide::types::Update>), Refused> {
    let configured = secret(TELEGRAM_SECRET);
    let body = authenticated_body("Telegram", Ok(Bytes::copy_from_slice(body)), token, |_| {
        telegram::webhook::token_matches(Some(&configured), token)
    })?;
    let Some(update_id) = telegram::webhook::update_id(&body) else {
        return Err(Refused(StatusCode::BAD_REQUEST, "not an update"));
    };
    Ok((update_id, serde_json::from_slice(&body).ok()))
}

/// The same coordinates, to the last bits a JSON round trip may change (serde_json
/// parses floats fast, not always to the nearest double).
fn same_place(got: Option<(f64, f64)>, sent: Option<(f64, f64)>) -> bool {
    match (got, sent) {
        (Some((a, b)), Some((c, d))) => (a - c).abs() < 1e-9 && (b - d).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

fn assert_refused(result: Result<impl std::fmt::Debug, Refused>, status: StatusCode) {
    match result {
        Err(Refused(got, _)) => assert_eq!(got, status),
        Ok(accepted) => panic!("accepted: {accepted:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // ---- LINE ----

    #[test]
    fn line_gate_never_panics_and_refuses_only_as_malformed(body in body_from(line_body())) {
        let signature = line::signature::sign(&secret(LINE_SECRET), &body);
        if let Err(Refused(status, _)) = line_route(&body, &signature) {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn line_gate_refuses_a_wrong_or_missing_signature(
        body in body_from(line_body()),
        forgery in forgery(),
    ) {
        if let Some(signature) = forge(&forgery, &body, LINE_SECRET, line::signature::sign) {
            assert_refused(line_route(&body, &signature), StatusCode::UNAUTHORIZED);
        }
    }

    #[test]
    fn line_gate_accepts_every_correctly_signed_valid_body(body in line_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let signature = line::signature::sign(&secret(LINE_SECRET), &bytes);
        let events = line_route(&bytes, &signature).expect("accepted");
        prop_assert_eq!(events.len(), body["events"].as_array().unwrap().len());
    }

    #[test]
    fn line_events_keep_the_fields_tambon_reads(sent in line_event()) {
        let raw = sent.to_json();
        let event: line::wire::Event = serde_json::from_value(raw.clone()).unwrap();
        prop_assert_eq!(&event.kind, &sent.kind);
        prop_assert_eq!(&event.mode, &sent.mode);
        prop_assert_eq!(event.is_standby(), sent.mode.as_deref() == Some("standby"));
        prop_assert_eq!(event.is_redelivery(), sent.is_redelivery);
        prop_assert_eq!(event.timestamp, Some(sent.timestamp));
        prop_assert_eq!(&event.reply_token, &sent.reply_token);
        let source = event.source.as_ref().unwrap();
        prop_assert_eq!(source.user_id.as_ref(), Some(&sent.user_id));
        prop_assert_eq!(&source.group_id, &sent.group_id);
        prop_assert_eq!(event.postback.as_ref().map(|p| &p.data), sent.postback.as_ref());
        match (&event.message, &sent.message) {
            (Some(got), Some(sent)) => {
                prop_assert_eq!(&got.kind, &sent.kind);
                prop_assert_eq!(got.id.as_ref(), Some(&sent.id));
                prop_assert_eq!(&got.text, &sent.text);
                prop_assert!(same_place(got.latitude.zip(got.longitude), sent.at));
                prop_assert_eq!(&got.address, &sent.address);
            }
            (None, None) => {}
            (got, sent) => prop_assert!(false, "message {got:?} read from {sent:?}"),
        }
        // One event, one key, the same on every redelivery.
        let expected_key = match (&sent.webhook_event_id, &sent.message) {
            (Some(id), _) => id.clone(),
            (None, Some(message)) => format!("message:{}", message.id),
            (None, None) => event.dedupe_key(&raw.to_string()),
        };
        prop_assert_eq!(event.dedupe_key(&raw.to_string()), expected_key);
        prop_assert_eq!(event.dedupe_key(&raw.to_string()), event.dedupe_key(&raw.clone().to_string()));
        // What the queue keeps of it reads back the same.
        let kept = line::event::Event::from(event);
        prop_assert_eq!(&line::event::Event::decode(&kept.encode()).unwrap(), &kept);
    }

    // ---- Messenger ----

    #[test]
    fn messenger_gate_never_panics_and_refuses_only_as_malformed(body in body_from(messenger_body())) {
        let header = messenger::signature::sign(&secret(APP_SECRET), &body);
        if let Err(Refused(status, _)) = messenger_route(&body, &header) {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn messenger_gate_refuses_a_wrong_or_missing_signature(
        body in body_from(messenger_body()),
        forgery in forgery(),
    ) {
        if let Some(header) = forge(&forgery, &body, APP_SECRET, messenger::signature::sign) {
            // `sha256=` with the same digits in capitals is the same signature.
            let right = messenger::signature::sign(&secret(APP_SECRET), &body);
            prop_assume!(header.trim().to_ascii_lowercase() != right);
            assert_refused(messenger_route(&body, &header), StatusCode::UNAUTHORIZED);
        }
    }

    #[test]
    fn messenger_gate_accepts_every_correctly_signed_valid_body(body in messenger_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let header = messenger::signature::sign(&secret(APP_SECRET), &bytes);
        let items = messenger_route(&bytes, &header).expect("accepted");
        let entry = &body["entry"][0];
        prop_assert_eq!(
            items.len(),
            entry["messaging"].as_array().unwrap().len() + entry["standby"].as_array().unwrap().len()
        );
    }

    #[test]
    fn messenger_items_keep_the_fields_tambon_reads(sent in messenger_item()) {
        let raw = sent.to_json();
        let item: messenger::wire::Item = serde_json::from_value(raw.clone()).unwrap();
        prop_assert_eq!(item.sender_id(), sent.sender.as_deref());
        prop_assert_eq!(item.timestamp, Some(sent.timestamp));
        let answerable = sent.sender.is_some()
            && (sent.message.as_ref().is_some_and(|m| !m.is_echo) || sent.postback.is_some());
        prop_assert_eq!(item.is_answerable(), answerable);
        prop_assert_eq!(
            item.postback.as_ref().map(|p| (p.mid.clone(), p.payload.clone())),
            sent.postback.clone()
        );
        match (&item.message, &sent.message) {
            (Some(got), Some(sent)) => {
                prop_assert_eq!(&got.mid, &sent.mid);
                prop_assert_eq!(&got.text, &sent.text);
                prop_assert_eq!(got.is_echo, sent.is_echo);
                prop_assert_eq!(got.quick_reply.as_ref().map(|q| &q.payload), sent.quick_reply.as_ref());
                let urls: Vec<&str> = got
                    .attachments
                    .iter()
                    .filter(|a| a.kind == "image")
                    .filter_map(|a| a.payload.as_ref()?.url.as_deref())
                    .collect();
                prop_assert_eq!(urls, sent.image_urls.iter().map(String::as_str).collect::<Vec<_>>());
                let at = got
                    .attachments
                    .iter()
                    .filter(|a| a.kind == "location")
                    .find_map(|a| a.payload.as_ref()?.coordinates.as_ref())
                    .map(|c| (c.lat, c.long));
                prop_assert!(same_place(at, sent.at));
            }
            (None, None) => {}
            (got, sent) => prop_assert!(false, "message {got:?} read from {sent:?}"),
        }
        let mid = sent
            .message
            .as_ref()
            .and_then(|m| m.mid.clone())
            .or_else(|| sent.postback.as_ref().and_then(|(mid, _)| mid.clone()));
        if let Some(mid) = mid {
            prop_assert_eq!(item.dedupe_key(&raw), format!("mid:{mid}"));
        }
    }

    // ---- Telegram ----

    #[test]
    fn telegram_gate_never_panics_and_refuses_only_what_is_not_an_update(body in body_from(telegram_body())) {
        match telegram_route(&body, TELEGRAM_SECRET.as_bytes()) {
            Ok((update_id, _)) => {
                let value: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(value["update_id"].as_u64(), Some(u64::from(update_id)));
            }
            Err(Refused(status, _)) => prop_assert_eq!(status, StatusCode::BAD_REQUEST),
        }
    }

    #[test]
    fn telegram_gate_refuses_a_wrong_or_missing_token(
        body in body_from(telegram_body()),
        token in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        prop_assume!(token != TELEGRAM_SECRET.as_bytes());
        assert_refused(telegram_route(&body, &token), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn telegram_gate_refuses_everything_without_a_configured_secret(token in prop::collection::vec(any::<u8>(), 0..40)) {
        prop_assert!(!telegram::webhook::token_matches(None, &token));
    }

    #[test]
    fn telegram_updates_keep_the_fields_tambon_reads(sent in telegram_update()) {
        use teloxide::types::UpdateKind;
        let body = serde_json::to_vec(&sent.to_json()).unwrap();
        let (update_id, update) = telegram_route(&body, TELEGRAM_SECRET.as_bytes()).expect("accepted");
        prop_assert_eq!(update_id, sent.update_id);
        let update = update.expect("teloxide reads the update");
        prop_assert_eq!(update.id.0, sent.update_id);
        match (update.kind, &sent.callback_data) {
            (UpdateKind::CallbackQuery(query), Some(data)) => {
                prop_assert_eq!(query.data.as_ref(), Some(data));
                let chat = query.message.as_ref().map(|m| m.chat().id.0);
                prop_assert_eq!(chat, Some(sent.chat_id));
            }
            (UpdateKind::Message(message), None) => {
                prop_assert_eq!(message.chat.id.0, sent.chat_id);
                prop_assert_eq!(message.chat.is_private(), sent.chat_id > 0);
                prop_assert_eq!(message.text(), sent.text.as_deref());
            }
            (kind, _) => prop_assert!(false, "read as {kind:?}"),
        }
    }

    // ---- Web chat ----

    #[test]
    fn web_chat_request_parser_never_panics(body in body_from(web_request())) {
        let _ = serde_json::from_slice::<web::wire::ChatRequest>(&body);
    }

    #[test]
    fn web_chat_requests_keep_their_fields(sent in web_request()) {
        let request: web::wire::ChatRequest = serde_json::from_value(sent.clone()).unwrap();
        prop_assert_eq!(Some(request.session.as_str()), sent["session"].as_str());
        prop_assert_eq!(Some(request.id.as_str()), sent["id"].as_str());
        prop_assert_eq!(request.text.as_deref(), sent["text"].as_str());
        prop_assert_eq!(request.postback.as_deref(), sent["postback"].as_str());
        prop_assert_eq!(request.image.as_deref(), sent["image"].as_str());
        let sent_location = sent.get("location");
        prop_assert_eq!(request.location.is_some(), sent_location.is_some());
        if let (Some(got), Some(sent)) = (request.location, sent_location) {
            let sent_at = sent["latitude"].as_f64().zip(sent["longitude"].as_f64());
            prop_assert!(same_place(Some((got.latitude, got.longitude)), sent_at));
            prop_assert_eq!(got.address.as_deref(), sent["address"].as_str());
        }
    }
}
