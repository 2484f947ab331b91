//! Inputs for the property tests: awkward text, arbitrary JSON, valid platform payloads
//! and the same payloads mutated (fields removed, wrong types, huge strings, deep
//! nesting), so that every parser sees both what platforms send and what they never should.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

/// Thai script: consonants, vowels, tone marks, Thai digits ๐-๙ and the signs after them.
const THAI: &str = "[\u{0E01}-\u{0E3A}\u{0E40}-\u{0E5B} ]";

/// Text as residents type it, and as nobody should: Thai with Thai digits, English,
/// emoji, control characters, lone combining marks, any Unicode, and huge runs.
pub fn awkward_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::string::string_regex(&format!("{THAI}{{0,40}}")).unwrap(),
        2 => "[a-zA-Z0-9 .,?!-]{0,40}",
        1 => "[๐-๙0-9 -]{0,20}",
        1 => proptest::sample::select(vec![
            "😀", "🙏🏽", "👨‍👩‍👧", "🇹🇭", "\u{200b}", "\u{feff}", "\u{202e}", "\u{0E48}\u{0E48}\u{0E48}", "ๆๆๆ", "",
        ])
        .prop_map(str::to_owned),
        1 => "[\u{0}-\u{1f}\u{7f}\u{85}\u{2028}]{0,8}",
        2 => any::<String>(),
        1 => (1..20_000usize, proptest::sample::select(vec!["ก", "๙", "a", "😀", " "]))
            .prop_map(|(n, unit)| unit.repeat(n)),
    ]
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        awkward_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a JSON document.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// The field or element is dropped.
    Remove,
    /// It becomes another value, often of the wrong type.
    Replace(Value),
    /// It is wrapped in this many arrays (past serde_json's recursion limit of 128 too).
    Nest(usize),
    /// A field the platform never sends is added next to it.
    Extra(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::Remove),
        4 => any_json().prop_map(Mutation::Replace),
        1 => (1..200usize).prop_map(Mutation::Nest),
        1 => ("[a-zA-Z_]{1,12}", any_json()).prop_map(|(k, v)| Mutation::Extra(k, v)),
    ]
}

/// `valid` with one to four mutations, each at a place picked among all its nodes.
pub fn mutated(valid: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (
        valid,
        prop::collection::vec((any::<Index>(), mutation()), 1..5),
    )
        .prop_map(|(mut value, mutations)| {
            for (at, mutation) in mutations {
                let paths = paths(&value);
                apply(&mut value, &paths[at.index(paths.len())], mutation);
            }
            value
        })
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item(usize),
}

/// The path of every node, the root (empty path) first.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    here.push(Step::Key(key.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    here.push(Step::Item(i));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn apply(root: &mut Value, path: &[Step], mutation: Mutation) {
    let Some((last, parent_path)) = path.split_last() else {
        // The root itself.
        match mutation {
            Mutation::Remove => *root = Value::Null,
            Mutation::Replace(value) => *root = value,
            Mutation::Nest(depth) => *root = nest(root.take(), depth),
            Mutation::Extra(key, value) => {
                if let Value::Object(map) = root {
                    map.insert(key, value);
                }
            }
        }
        return;
    };
    let mut parent = root;
    for step in parent_path {
        parent = match step {
            Step::Key(key) => &mut parent[key.as_str()],
            Step::Item(i) => &mut parent[*i],
        };
    }
    match (parent, last, mutation) {
        (Value::Object(map), Step::Key(key), Mutation::Remove) => {
            map.remove(key);
        }
        (Value::Array(items), Step::Item(i), Mutation::Remove) => {
            items.remove(*i);
        }
        (Value::Object(map), _, Mutation::Extra(key, value)) => {
            map.insert(key, value);
        }
        (parent, step, mutation) => {
            let child = match step {
                Step::Key(key) => &mut parent[key.as_str()],
                Step::Item(i) => &mut parent[*i],
            };
            match mutation {
                Mutation::Replace(value) => *child = value,
                Mutation::Nest(depth) => *child = nest(child.take(), depth),
                Mutation::Remove | Mutation::Extra(..) => *child = Value::Null,
            }
        }
    }
}

fn nest(mut value: Value, depth: usize) -> Value {
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// A body as it may reach a webhook: a mutated payload, the same cut short or with a
/// byte flipped, or arbitrary bytes.
pub fn body_from(valid: BoxedStrategy<Value>) -> impl Strategy<Value = Vec<u8>> {
    let json = mutated(valid.clone())
        .prop_map(|v| serde_json::to_vec(&v).unwrap())
        .boxed();
    prop_oneof![
        4 => json.clone(),
        1 => (json.clone(), any::<Index>()).prop_map(|(bytes, at)| {
            let cut = at.index(bytes.len() + 1);
            bytes[..cut].to_vec()
        }),
        1 => (json, any::<Index>(), any::<u8>()).prop_map(|(mut bytes, at, byte)| {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes
        }),
        1 => valid.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

// ---- LINE ----

/// A LINE webhook event, as far as tambon reads it.
#[derive(Clone, Debug)]
pub struct LineEvent {
    pub kind: String,
    pub mode: Option<String>,
    pub timestamp: i64,
    pub user_id: String,
    pub group_id: Option<String>,
    pub webhook_event_id: Option<String>,
    pub is_redelivery: bool,
    pub reply_token: Option<String>,
    pub message: Option<LineMessage>,
    pub postback: Option<String>,
}

#[derive(Clone, Debug)]
pub struct LineMessage {
    pub kind: String,
    pub id: String,
    pub text: Option<String>,
    pub at: Option<(f64, f64)>,
    pub address: Option<String>,
}

fn latitude_longitude() -> impl Strategy<Value = (f64, f64)> {
    (-90.0..=90.0f64, -180.0..=180.0f64)
}

fn line_message() -> impl Strategy<Value = LineMessage> {
    (
        prop::sample::select(vec!["text", "image", "location", "sticker", "audio"]),
        "[0-9]{6,18}",
        prop::option::of(awkward_text()),
        prop::option::of(latitude_longitude()),
        prop::option::of(awkward_text()),
    )
        .prop_map(|(kind, id, text, at, address)| LineMessage {
            kind: kind.to_owned(),
            id,
            text,
            at,
            address,
        })
}

pub fn line_event() -> impl Strategy<Value = LineEvent> {
    (
        prop::sample::select(vec![
            "message", "postback", "follow", "unfollow", "join", "leave", "beacon",
        ]),
        prop::option::of(prop::sample::select(vec!["active", "standby"])),
        0..4_102_444_800_000i64,
        "U[0-9a-f]{32}",
        prop::option::of("C[0-9a-f]{32}"),
        prop::option::of("[0-9A-Z]{26}"),
        any::<bool>(),
        prop::option::of("[0-9a-f]{32}"),
        prop::option::of(line_message()),
        prop::option::of(awkward_text()),
    )
        .prop_map(
            |(
                kind,
                mode,
                timestamp,
                user_id,
                group_id,
                webhook_event_id,
                is_redelivery,
                reply_token,
                message,
                postback,
            )| LineEvent {
                kind: kind.to_owned(),
                mode: mode.map(str::to_owned),
                timestamp,
                user_id,
                group_id,
                webhook_event_id,
                is_redelivery,
                reply_token,
                message,
                postback,
            },
        )
}

impl LineEvent {
    pub fn to_json(&self) -> Value {
        let mut source = json!({ "type": "user", "userId": self.user_id });
        if let Some(group_id) = &self.group_id {
            source["type"] = json!("group");
            source["groupId"] = json!(group_id);
        }
        let mut event = json!({
            "type": self.kind,
            "timestamp": self.timestamp,
            "source": source,
            "deliveryContext": { "isRedelivery": self.is_redelivery },
        });
        if let Some(mode) = &self.mode {
            event["mode"] = json!(mode);
        }
        if let Some(id) = &self.webhook_event_id {
            event["webhookEventId"] = json!(id);
        }
        if let Some(token) = &self.reply_token {
            event["replyToken"] = json!(token);
        }
        if let Some(message) = &self.message {
            let mut m = json!({ "type": message.kind, "id": message.id });
            if let Some(text) = &message.text {
                m["text"] = json!(text);
            }
            if let Some((latitude, longitude)) = message.at {
                m["latitude"] = json!(latitude);
                m["longitude"] = json!(longitude);
            }
            if let Some(address) = &message.address {
                m["address"] = json!(address);
            }
            event["message"] = m;
        }
        if let Some(data) = &self.postback {
            event["postback"] = json!({ "data": data });
        }
        event
    }
}

pub fn line_body() -> BoxedStrategy<Value> {
    prop::collection::vec(line_event(), 0..4)
        .prop_map(|events| {
            json!({
                "destination": "Uffffffffffffffffffffffffffffffff",
                "events": events.iter().map(LineEvent::to_json).collect::<Vec<_>>(),
            })
        })
        .boxed()
}

// ---- Messenger ----

#[derive(Clone, Debug)]
pub struct MessengerItem {
    pub sender: Option<String>,
    pub timestamp: i64,
    pub message: Option<MessengerMessage>,
    pub postback: Option<(Option<String>, String)>,
}

#[derive(Clone, Debug)]
pub struct MessengerMessage {
    pub mid: Option<String>,
    pub text: Option<String>,
    pub is_echo: bool,
    pub quick_reply: Option<String>,
    pub image_urls: Vec<String>,
    pub at: Option<(f64, f64)>,
}

fn messenger_message() -> impl Strategy<Value = MessengerMessage> {
    (
        prop::option::of("m_[A-Za-z0-9_-]{8,40}"),
        prop::option::of(awkward_text()),
        prop::bool::weighted(0.2),
        prop::option::of(awkward_text()),
        prop::collection::vec("http://127\\.0\\.0\\.1:9/[a-z]{1,8}\\.jpg", 0..3),
        prop::option::of(latitude_longitude()),
    )
        .prop_map(
            |(mid, text, is_echo, quick_reply, image_urls, at)| MessengerMessage {
                mid,
                text,
                is_echo,
                quick_reply,
                image_urls,
                at,
            },
        )
}

pub fn messenger_item() -> impl Strategy<Value = MessengerItem> {
    (
        prop::option::of("[0-9]{10,17}"),
        0..4_102_444_800_000i64,
        prop::option::of(messenger_message()),
        prop::option::of((prop::option::of("m_[A-Za-z0-9]{8,20}"), awkward_text())),
    )
        .prop_map(|(sender, timestamp, message, postback)| MessengerItem {
            sender,
            timestamp,
            message,
            postback,
        })
}

impl MessengerItem {
    pub fn to_json(&self) -> Value {
        let mut item = json!({ "timestamp": self.timestamp, "recipient": { "id": "1000" } });
        if let Some(sender) = &self.sender {
            item["sender"] = json!({ "id": sender });
        }
        if let Some(message) = &self.message {
            let mut m = json!({ "is_echo": message.is_echo });
            if let Some(mid) = &message.mid {
                m["mid"] = json!(mid);
            }
            if let Some(text) = &message.text {
                m["text"] = json!(text);
            }
            if let Some(payload) = &message.quick_reply {
                m["quick_reply"] = json!({ "payload": payload });
            }
            let mut attachments: Vec<Value> = message
                .image_urls
                .iter()
                .map(|url| json!({ "type": "image", "payload": { "url": url } }))
                .collect();
            if let Some((lat, long)) = message.at {
                attachments.push(
                    json!({ "type": "location", "payload": { "coordinates": { "lat": lat, "long": long } } }),
                );
            }
            if !attachments.is_empty() {
                m["attachments"] = json!(attachments);
            }
            item["message"] = m;
        }
        if let Some((mid, payload)) = &self.postback {
            item["postback"] = json!({ "mid": mid, "payload": payload, "title": "ปุ่ม" });
        }
        item
    }
}

pub fn messenger_body() -> BoxedStrategy<Value> {
    (
        prop::collection::vec(messenger_item(), 0..3),
        prop::collection::vec(messenger_item(), 0..2),
    )
        .prop_map(|(messaging, standby)| {
            json!({
                "object": "page",
                "entry": [{
                    "id": "1000",
                    "time": 1_700_000_000_000i64,
                    "messaging": messaging.iter().map(MessengerItem::to_json).collect::<Vec<_>>(),
                    "standby": standby.iter().map(MessengerItem::to_json).collect::<Vec<_>>(),
                }],
            })
        })
        .boxed()
}

// ---- Telegram ----

/// A Telegram update: a text message or a button pressed, in a private chat or a group.
#[derive(Clone, Debug)]
pub struct TelegramUpdate {
    pub update_id: u32,
    pub chat_id: i64,
    pub text: Option<String>,
    pub callback_data: Option<String>,
}

pub fn telegram_update() -> impl Strategy<Value = TelegramUpdate> {
    (
        any::<u32>(),
        prop_oneof![1..1_000_000_000_000i64, -1_000_000_000_000i64..-1],
        prop::option::of(awkward_text()),
        prop::option::of("[ -~]{0,64}"),
    )
        .prop_map(|(update_id, chat_id, text, callback_data)| TelegramUpdate {
            update_id,
            chat_id,
            text,
            callback_data,
        })
}

impl TelegramUpdate {
    pub fn to_json(&self) -> Value {
        let chat = if self.chat_id > 0 {
            json!({ "id": self.chat_id, "type": "private", "first_name": "ก" })
        } else {
            json!({ "id": self.chat_id, "type": "group", "title": "กองช่าง" })
        };
        let person = json!({ "id": 42, "is_bot": false, "first_name": "ก" });
        let mut message = json!({
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": chat,
            "from": person,
        });
        if let Some(text) = &self.text {
            message["text"] = json!(text);
        }
        match &self.callback_data {
            Some(data) => json!({ "update_id": self.update_id, "callback_query": {
                "id": "q1",
                "from": person,
                "chat_instance": "x",
                "data": data,
                "message": message,
            }}),
            None => json!({ "update_id": self.update_id, "message": message }),
        }
    }
}

pub fn telegram_body() -> BoxedStrategy<Value> {
    telegram_update()
        .prop_map(|update| update.to_json())
        .boxed()
}

// ---- Web chat ----

/// A web chat request: a session, a message id, and one of text, postback, location or
/// photo.
pub fn web_request() -> BoxedStrategy<Value> {
    let message =
        prop_oneof![
        awkward_text().prop_map(|text| json!({ "text": text })),
        awkward_text().prop_map(|postback| json!({ "postback": postback })),
        (latitude_longitude(), prop::option::of(awkward_text())).prop_map(|((lat, long), address)| {
            json!({ "location": { "latitude": lat, "longitude": long, "address": address } })
        }),
        "m[0-9]{1,4}-[0-9a-f]{16}".prop_map(|image| json!({ "image": image })),
    ];
    ("[A-Za-z0-9_-]{16,64}", "[A-Za-z0-9_-]{1,64}", message)
        .prop_map(|(session, id, mut message)| {
            message["session"] = json!(session);
            message["id"] = json!(id);
            message
        })
        .boxed()
}
