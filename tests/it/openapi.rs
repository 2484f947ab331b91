//! Checks JSON values against the schemas of LINE's official Messaging API OpenAPI document
//! (`tests/fixtures/line/openapi/messaging-api.yml`), so that tests can prove that what
//! tambon sends to LINE is what LINE accepts.
//!
//! Only the subset of OpenAPI 3.0 that the document uses is implemented: local `$ref`s,
//! `type`, `nullable`, `enum`, `required`, `properties`, `additionalProperties`, `items`,
//! `minItems`/`maxItems`, `minLength`/`maxLength` (in characters), `minimum`/`maximum`,
//! `pattern` (only the `^[class]{m,n}$` form the document uses), `allOf`, `anyOf`/`oneOf`,
//! and `discriminator` (`propertyName` + `mapping`). `format` is not checked.
//!
//! A schema with a discriminator (`Message`, `Action`, `FlexContainer`, `FlexComponent`,
//! `Template`, ...) dispatches on the value's property to the mapped schema, which is usually
//! `allOf: [<base>, {...}]`; inside that `allOf` the base is checked without dispatching again.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// The parsed OpenAPI document; cheap to copy.
#[derive(Clone, Copy)]
pub struct Spec {
    doc: &'static Value,
}

/// `<fixtures>/`: `$TAMBON_FIXTURES` if set, else the repository's `tests/fixtures`.
fn fixtures_dir() -> PathBuf {
    match std::env::var_os("TAMBON_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
    }
}

impl Spec {
    /// LINE's `messaging-api.yml`, read and parsed once per test binary.
    pub fn messaging_api() -> Spec {
        static DOC: OnceLock<Value> = OnceLock::new();
        let doc = DOC.get_or_init(|| {
            let path = fixtures_dir().join("line/openapi/messaging-api.yml");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
            yaml_to_json(yaml)
        });
        Spec { doc }
    }

    /// Checks `value` against `components/schemas/<schema>`; every violation is reported
    /// with the JSON path where it was found, e.g.
    /// `messages[0].quickReply.items[13]: more than 13 items`.
    ///
    /// Panics if the document has no such schema (a mistake in the test, not in the value).
    pub fn validate(&self, schema: &str, value: &Value) -> Result<(), Vec<String>> {
        let root = self.schema(schema).unwrap_or_else(|| {
            panic!("messaging-api.yml has no schema `{schema}` under components/schemas")
        });
        let mut checker = Checker {
            spec: *self,
            errors: Vec::new(),
        };
        checker.check(root, value, "", &mut Vec::new());
        if checker.errors.is_empty() {
            Ok(())
        } else {
            Err(checker.errors)
        }
    }

    /// `schema`, or what its `$ref` (chain) points at.
    fn deref(&self, schema: &'static Value) -> &'static Value {
        let mut current = schema;
        for _ in 0..32 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => match self.resolve(reference) {
                    Some(target) => current = target,
                    None => break,
                },
                None => break,
            }
        }
        current
    }

    fn schema(&self, name: &str) -> Option<&'static Value> {
        self.doc.get("components")?.get("schemas")?.get(name)
    }

    /// A local reference `#/components/schemas/Name`.
    fn resolve(&self, reference: &str) -> Option<&'static Value> {
        self.schema(reference.strip_prefix("#/components/schemas/")?)
    }
}

/// YAML to JSON; mapping keys that are not strings (response codes like `200`) become strings.
fn yaml_to_json(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        Y::Null => "null".to_owned(),
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => true,
    }
}

fn is_true(value: Option<&Value>) -> bool {
    value == Some(&Value::Bool(true))
}

/// What dispatching on a discriminator left to do for the base schema itself.
enum Dispatch {
    /// The mapped schema's `allOf` includes the base, or dispatch failed: nothing more.
    Done,
    /// The mapped schema does not include the base: check the base's own keywords too.
    CheckBase,
}

struct Checker {
    spec: Spec,
    errors: Vec<String>,
}

impl Checker {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        let path = if path.is_empty() { "$" } else { path };
        self.errors.push(format!("{path}: {message}"));
    }

    /// Checks `value` (found at `path`) against `schema`. `dispatched` holds the schemas with
    /// a discriminator that already dispatched for this very value: met again through the
    /// mapped schema's `allOf`, they are checked without dispatching a second time.
    fn check(
        &mut self,
        schema: &'static Value,
        value: &Value,
        path: &str,
        dispatched: &mut Vec<&'static Value>,
    ) {
        let Some(keywords) = schema.as_object() else {
            return;
        };

        // OpenAPI 3.0: the siblings of a `$ref` are ignored.
        if let Some(reference) = keywords.get("$ref") {
            let reference = reference.as_str().unwrap_or_default();
            match self.spec.resolve(reference) {
                Some(target) => self.check(target, value, path, dispatched),
                None => self.error(path, format!("unresolvable $ref {reference:?}")),
            }
            return;
        }

        if value.is_null() && is_true(keywords.get("nullable")) {
            return;
        }
        if let Some(expected) = keywords.get("type").and_then(Value::as_str) {
            if !type_matches(expected, value) {
                self.error(path, format!("expected {expected}, got {}", kind(value)));
                return;
            }
        }

        if let Some(discriminator) = keywords.get("discriminator") {
            let already = dispatched.iter().any(|s| std::ptr::eq(*s, schema));
            if !already && value.is_object() {
                match self.dispatch(schema, discriminator, value, path, dispatched) {
                    Dispatch::Done => return,
                    Dispatch::CheckBase => {}
                }
            }
        }

        if let Some(allowed) = keywords.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                self.error(path, format!("{value} is not one of {}", list.join(", ")));
            }
        }

        match value {
            Value::String(s) => self.check_string(keywords, s, path),
            Value::Number(_) => self.check_number(keywords, value, path),
            Value::Array(items) => self.check_array(keywords, items, path),
            Value::Object(object) => self.check_object(keywords, object, path),
            _ => {}
        }

        if let Some(all) = keywords.get("allOf").and_then(Value::as_array) {
            for sub in all {
                // A base with a discriminator, met as a parent of `schema` (e.g. FlexBox →
                // FlexComponent), must not dispatch back down: the value is already being
                // checked as `schema`. It only has to name `schema`.
                let base = self.spec.deref(sub);
                let is_parent = base.get("discriminator").is_some()
                    && !dispatched.iter().any(|s| std::ptr::eq(*s, base));
                if is_parent {
                    self.check_subtype(base, schema, value, path);
                    dispatched.push(base);
                }
                self.check(sub, value, path, dispatched);
                if is_parent {
                    dispatched.pop();
                }
            }
        }
        if let Some(any) = keywords.get("anyOf").and_then(Value::as_array) {
            let passing = self.count_passing(any, value, path);
            if passing == 0 {
                self.error(path, "matches none of the anyOf schemas");
            }
        }
        if let Some(one) = keywords.get("oneOf").and_then(Value::as_array) {
            let passing = self.count_passing(one, value, path);
            if passing != 1 {
                self.error(
                    path,
                    format!("matches {passing} of the oneOf schemas instead of exactly one"),
                );
            }
        }
    }

    fn count_passing(&self, schemas: &'static [Value], value: &Value, path: &str) -> usize {
        let spec = self.spec;
        schemas
            .iter()
            .filter(|sub| {
                let mut trial = Checker {
                    spec,
                    errors: Vec::new(),
                };
                trial.check(sub, value, path, &mut Vec::new());
                trial.errors.is_empty()
            })
            .count()
    }

    /// `value`, checked as `child` whose `allOf` includes `base`, must carry a discriminator
    /// value that `base` maps to `child` (a bubble's `body` must be of type `box`).
    fn check_subtype(
        &mut self,
        base: &'static Value,
        child: &'static Value,
        value: &Value,
        path: &str,
    ) {
        let discriminator = &base["discriminator"];
        let (Some(property), Some(mapping)) = (
            discriminator.get("propertyName").and_then(Value::as_str),
            discriminator.get("mapping").and_then(Value::as_object),
        ) else {
            return;
        };
        let Some(Value::String(name)) = value.get(property) else {
            // Missing or not a string: the base's own `required`/`type` report it.
            return;
        };
        let names_child = |target: &Value| {
            target
                .as_str()
                .and_then(|r| self.spec.resolve(r))
                .is_some_and(|s| std::ptr::eq(s, child))
        };
        let expected: Vec<&str> = mapping
            .iter()
            .filter(|(_, target)| names_child(target))
            .map(|(name, _)| name.as_str())
            .collect();
        if expected.is_empty() || expected.contains(&name.as_str()) {
            return;
        }
        self.error(
            &field(path, property),
            format!(
                "{} is not allowed here; expected {}",
                value[property],
                expected.join(" or ")
            ),
        );
    }

    fn dispatch(
        &mut self,
        base: &'static Value,
        discriminator: &'static Value,
        value: &Value,
        path: &str,
        dispatched: &mut Vec<&'static Value>,
    ) -> Dispatch {
        let Some(property) = discriminator.get("propertyName").and_then(Value::as_str) else {
            return Dispatch::CheckBase;
        };
        let mapping = discriminator.get("mapping").and_then(Value::as_object);
        let chosen = match value.get(property) {
            None => {
                self.error(
                    path,
                    format!("missing required property `{property}` (the discriminator)"),
                );
                return Dispatch::Done;
            }
            Some(Value::String(name)) => {
                let target = match mapping {
                    Some(mapping) => mapping.get(name).and_then(Value::as_str),
                    // Without a mapping, the value names the schema.
                    None => Some(name.as_str()),
                };
                match target {
                    Some(target) if target.starts_with('#') => self.spec.resolve(target),
                    Some(target) => self.spec.schema(target),
                    None => None,
                }
            }
            Some(other) => {
                self.error(
                    &field(path, property),
                    format!("expected string, got {}", kind(other)),
                );
                return Dispatch::Done;
            }
        };
        let Some(chosen) = chosen else {
            let known: Vec<&str> = mapping
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            self.error(
                &field(path, property),
                format!(
                    "unknown {property} {}; expected one of: {}",
                    value[property],
                    known.join(", ")
                ),
            );
            return Dispatch::Done;
        };

        dispatched.push(base);
        self.check(chosen, value, path, dispatched);
        dispatched.pop();

        let includes_base = chosen
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|all| {
                all.iter()
                    .any(|sub| std::ptr::eq(self.spec.deref(sub), base))
            });
        if includes_base {
            Dispatch::Done
        } else {
            Dispatch::CheckBase
        }
    }

    fn check_string(
        &mut self,
        keywords: &'static serde_json::Map<String, Value>,
        s: &str,
        path: &str,
    ) {
        let length = s.chars().count() as u64;
        if let Some(min) = keywords.get("minLength").and_then(Value::as_u64) {
            if length < min {
                self.error(path, format!("shorter than {min} characters ({length})"));
            }
        }
        if let Some(max) = keywords.get("maxLength").and_then(Value::as_u64) {
            if length > max {
                self.error(path, format!("longer than {max} characters ({length})"));
            }
        }
        if let Some(pattern) = keywords.get("pattern").and_then(Value::as_str) {
            if let Some(simple) = SimplePattern::parse(pattern) {
                if !simple.matches(s) {
                    self.error(path, format!("{} does not match {pattern}", Value::from(s)));
                }
            }
        }
    }

    fn check_number(
        &mut self,
        keywords: &'static serde_json::Map<String, Value>,
        value: &Value,
        path: &str,
    ) {
        let Some(n) = value.as_f64() else { return };
        if let Some(min) = keywords.get("minimum").and_then(Value::as_f64) {
            let exclusive = is_true(keywords.get("exclusiveMinimum"));
            if n < min || (exclusive && n == min) {
                self.error(path, format!("{value} is less than the minimum {min}"));
            }
        }
        if let Some(max) = keywords.get("maximum").and_then(Value::as_f64) {
            let exclusive = is_true(keywords.get("exclusiveMaximum"));
            if n > max || (exclusive && n == max) {
                self.error(path, format!("{value} is more than the maximum {max}"));
            }
        }
    }

    fn check_array(
        &mut self,
        keywords: &'static serde_json::Map<String, Value>,
        items: &[Value],
        path: &str,
    ) {
        if let Some(min) = keywords.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                self.error(path, format!("fewer than {min} items ({})", items.len()));
            }
        }
        if let Some(max) = keywords.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                // Points at the first item too many.
                self.error(&index(path, max as usize), format!("more than {max} items"));
            }
        }
        if let Some(item_schema) = keywords.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.check(item_schema, item, &index(path, i), &mut Vec::new());
            }
        }
    }

    fn check_object(
        &mut self,
        keywords: &'static serde_json::Map<String, Value>,
        object: &serde_json::Map<String, Value>,
        path: &str,
    ) {
        if let Some(required) = keywords.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    self.error(path, format!("missing required property `{name}`"));
                }
            }
        }
        let properties = keywords.get("properties").and_then(Value::as_object);
        for (name, item) in object {
            let declared = properties.and_then(|p| p.get(name));
            match (declared, keywords.get("additionalProperties")) {
                (Some(sub), _) => {
                    self.check(sub, item, &field(path, name), &mut Vec::new());
                }
                (None, Some(Value::Bool(false))) => {
                    self.error(&field(path, name), "property not allowed");
                }
                (None, Some(sub @ Value::Object(_))) => {
                    self.check(sub, item, &field(path, name), &mut Vec::new());
                }
                (None, _) => {}
            }
        }
    }
}

/// `^[class]{m,n}$` or `^[class]{n}$`, the only pattern forms in messaging-api.yml; others
/// are not checked.
struct SimplePattern {
    ranges: Vec<(char, char)>,
    min: usize,
    max: usize,
}

impl SimplePattern {
    fn parse(pattern: &str) -> Option<Self> {
        let rest = pattern.strip_prefix("^[")?;
        let (class, rest) = rest.split_once(']')?;
        let counts = rest.strip_prefix('{')?.strip_suffix("}$")?;
        let (min, max) = match counts.split_once(',') {
            Some((min, max)) => (min.trim().parse().ok()?, max.trim().parse().ok()?),
            None => {
                let n = counts.trim().parse().ok()?;
                (n, n)
            }
        };
        let chars: Vec<char> = class.chars().collect();
        if chars.contains(&'\\') || chars.first() == Some(&'^') {
            return None;
        }
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                ranges.push((chars[i], chars[i + 2]));
                i += 3;
            } else {
                ranges.push((chars[i], chars[i]));
                i += 1;
            }
        }
        Some(Self { ranges, min, max })
    }

    fn matches(&self, s: &str) -> bool {
        let count = s.chars().count();
        (self.min..=self.max).contains(&count)
            && s.chars()
                .all(|c| self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Spec;

    fn reply(messages: serde_json::Value) -> serde_json::Value {
        json!({"replyToken": "t", "messages": messages})
    }

    fn errors_of(schema: &str, value: &serde_json::Value) -> Vec<String> {
        Spec::messaging_api()
            .validate(schema, value)
            .expect_err("the value should have been rejected")
    }

    #[test]
    fn openapi_thai_text_reply_passes() {
        let value = json!({"replyToken": "t", "messages": [{"type": "text", "text": "สวัสดี"}]});
        assert_eq!(
            Spec::messaging_api().validate("ReplyMessageRequest", &value),
            Ok(())
        );
    }

    #[test]
    fn openapi_six_messages_exceed_max_items() {
        let text = json!({"type": "text", "text": "x"});
        let errors = errors_of("ReplyMessageRequest", &reply(json!(vec![text; 6])));
        assert_eq!(errors, vec!["messages[5]: more than 5 items"]);
        // And the same limit for push.
        let push = json!({"to": "U1", "messages": vec![json!({"type": "text", "text": "x"}); 6]});
        assert_eq!(
            errors_of("PushMessageRequest", &push),
            vec!["messages[5]: more than 5 items"]
        );
        let none = reply(json!([]));
        assert_eq!(
            errors_of("ReplyMessageRequest", &none),
            vec!["messages: fewer than 1 items (0)"]
        );
    }

    #[test]
    fn openapi_fourteen_quick_reply_items_fail() {
        let item =
            json!({"type": "action", "action": {"type": "message", "label": "l", "text": "t"}});
        let message = |n: usize| json!({"type": "text", "text": "เลือก", "quickReply": {"items": vec![item.clone(); n]}});
        let spec = Spec::messaging_api();
        assert_eq!(
            spec.validate("ReplyMessageRequest", &reply(json!([message(13)]))),
            Ok(())
        );
        let errors = errors_of("ReplyMessageRequest", &reply(json!([message(14)])));
        assert_eq!(
            errors,
            vec!["messages[0].quickReply.items[13]: more than 13 items"]
        );
    }

    #[test]
    fn openapi_postback_data_is_optional_in_the_spec_but_limited_to_300() {
        // LINE's reference calls `data` required, but the OpenAPI document does not list it
        // under `required`; the validator follows the document, so only the length is checked.
        let postback = |action: serde_json::Value| {
            reply(json!([{
                "type": "text",
                "text": "x",
                "quickReply": {"items": [{"type": "action", "action": action}]}
            }]))
        };
        let spec = Spec::messaging_api();
        let without_data = postback(json!({"type": "postback", "label": "ok"}));
        assert_eq!(spec.validate("ReplyMessageRequest", &without_data), Ok(()));
        let with_data = postback(json!({"type": "postback", "label": "ok", "data": "a=1"}));
        assert_eq!(spec.validate("ReplyMessageRequest", &with_data), Ok(()));
        let long = postback(json!({"type": "postback", "label": "ok", "data": "x".repeat(301)}));
        assert_eq!(
            errors_of("ReplyMessageRequest", &long),
            vec!["messages[0].quickReply.items[0].action.data: longer than 300 characters (301)"]
        );
        let wrong_type = postback(json!({"type": "postback", "data": 5}));
        assert_eq!(
            errors_of("ReplyMessageRequest", &wrong_type),
            vec!["messages[0].quickReply.items[0].action.data: expected string, got integer"]
        );
    }

    #[test]
    fn openapi_unknown_types_fail() {
        let errors = errors_of(
            "ReplyMessageRequest",
            &reply(json!([{"type": "txt", "text": "x"}])),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("messages[0].type: unknown type \"txt\"; expected one of:"),
            "{errors:?}"
        );
        let errors = errors_of("ReplyMessageRequest", &reply(json!([{"text": "x"}])));
        assert_eq!(
            errors,
            vec!["messages[0]: missing required property `type` (the discriminator)"]
        );
        let action = json!({"type": "jump", "label": "x"});
        let errors = errors_of(
            "ReplyMessageRequest",
            &reply(json!([{"type": "text", "text": "x",
                "quickReply": {"items": [{"type": "action", "action": action}]}}])),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("messages[0].quickReply.items[0].action.type: unknown type"),
            "{errors:?}"
        );
    }

    #[test]
    fn openapi_required_properties_of_the_mapped_schema_are_checked() {
        let errors = errors_of("ReplyMessageRequest", &reply(json!([{"type": "text"}])));
        assert_eq!(
            errors,
            vec!["messages[0]: missing required property `text`"]
        );
        let errors = errors_of(
            "ReplyMessageRequest",
            &reply(json!([{"type": "text", "text": 1, "sender": {"name": "x".repeat(21)}}])),
        );
        assert_eq!(
            errors,
            vec![
                "messages[0].sender.name: longer than 20 characters (21)",
                "messages[0].text: expected string, got integer",
            ]
        );
        assert_eq!(
            errors_of("ReplyMessageRequest", &json!({"messages": []})),
            vec![
                "$: missing required property `replyToken`",
                "messages: fewer than 1 items (0)"
            ]
        );
    }

    #[test]
    fn openapi_minimal_flex_message_passes() {
        let flex = json!({"type": "flex", "altText": "a", "contents": {"type": "bubble",
            "body": {"type": "box", "layout": "vertical",
                "contents": [{"type": "text", "text": "x", "wrap": true}]}}});
        assert_eq!(
            Spec::messaging_api().validate("ReplyMessageRequest", &reply(json!([flex]))),
            Ok(())
        );
    }

    #[test]
    fn openapi_nested_flex_components_are_dispatched() {
        let flex = |component: serde_json::Value| {
            reply(
                json!([{"type": "flex", "altText": "a", "contents": {"type": "carousel",
                "contents": [{"type": "bubble", "body": {"type": "box", "layout": "vertical",
                    "contents": [component]}}]}}]),
            )
        };
        let spec = Spec::messaging_api();
        let button = json!({"type": "button", "style": "primary",
            "action": {"type": "postback", "label": "ส่ง", "data": "send"}});
        assert_eq!(spec.validate("ReplyMessageRequest", &flex(button)), Ok(()));
        let errors = errors_of(
            "ReplyMessageRequest",
            &flex(json!({"type": "button", "style": "fancy"})),
        );
        let at = "messages[0].contents.contents[0].body.contents[0]";
        assert_eq!(
            errors,
            vec![
                format!("{at}: missing required property `action`"),
                format!("{at}.style: \"fancy\" is not one of \"primary\", \"secondary\", \"link\""),
            ]
        );
        let errors = errors_of(
            "ReplyMessageRequest",
            &flex(json!({"type": "box", "layout": "diagonal", "contents": []})),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("{at}.layout: ")),
            "{errors:?}"
        );
    }

    #[test]
    fn openapi_a_subtype_used_directly_must_be_named_by_its_type() {
        // A bubble's body is a FlexBox itself, not any FlexComponent.
        let bubble = |body: serde_json::Value| {
            reply(json!([{"type": "flex", "altText": "a",
                "contents": {"type": "bubble", "body": body}}]))
        };
        let errors = errors_of(
            "ReplyMessageRequest",
            &bubble(json!({"type": "text", "text": "x", "layout": "vertical", "contents": []})),
        );
        assert_eq!(
            errors,
            vec!["messages[0].contents.body.type: \"text\" is not allowed here; expected box"]
        );
        let errors = errors_of(
            "ReplyMessageRequest",
            &bubble(json!({"layout": "vertical", "contents": []})),
        );
        assert_eq!(
            errors,
            vec!["messages[0].contents.body: missing required property `type`"]
        );
    }

    #[test]
    fn openapi_loading_animation_and_patterns() {
        let spec = Spec::messaging_api();
        let ok = json!({"chatId": "U1", "loadingSeconds": 20});
        assert_eq!(spec.validate("ShowLoadingAnimationRequest", &ok), Ok(()));
        assert_eq!(
            errors_of(
                "ShowLoadingAnimationRequest",
                &json!({"chatId": "U1", "loadingSeconds": 61})
            ),
            vec!["loadingSeconds: 61 is more than the maximum 60"]
        );
        assert_eq!(
            errors_of(
                "ShowLoadingAnimationRequest",
                &json!({"loadingSeconds": 1.5})
            ),
            vec![
                "$: missing required property `chatId`",
                "loadingSeconds: expected integer, got number"
            ]
        );
        let multicast = |unit: &str| {
            json!({"to": ["U1"], "messages": [{"type": "text", "text": "x"}],
                "customAggregationUnits": [unit]})
        };
        assert_eq!(
            spec.validate("MulticastRequest", &multicast("promo_2025")),
            Ok(())
        );
        assert_eq!(
            errors_of("MulticastRequest", &multicast("โปรโมชัน")),
            vec!["customAggregationUnits[0]: \"โปรโมชัน\" does not match ^[a-zA-Z0-9_]{1,30}$"]
        );
    }
}
