use super::*;

#[test]
fn commands_map_to_the_engine() {
    assert_eq!(
        command("/start", false),
        InboundKind::Postback("start".to_owned())
    );
    assert_eq!(
        command("/help", false),
        InboundKind::Postback("menu".to_owned())
    );
    assert_eq!(
        command("/lang", false),
        InboundKind::Postback("lang".to_owned())
    );
    assert_eq!(
        command("/status SG-2569-0001", false),
        InboundKind::Text("SG-2569-0001".to_owned())
    );
    assert_eq!(
        command("/status@tambon_bot  CP-2569-0002 ", false),
        InboundKind::Text("CP-2569-0002".to_owned())
    );
    assert_eq!(
        command("/status", false),
        InboundKind::Postback("follow".to_owned())
    );
    assert_eq!(command("สวัสดี", false), InboundKind::Text("สวัสดี".to_owned()));
    assert_eq!(command("/help@tambon_bot", true), InboundKind::GroupMention);
}

fn json(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap()
}

#[test]
fn only_what_a_person_sends_in_a_private_chat_counts_against_their_limit() {
    let private = r#"{"update_id":1,"message":{"message_id":5,"date":0,"chat":{"id":42,"type":"private"},"text":"สวัสดี"}}"#;
    assert_eq!(
        route(&json(private)),
        Route {
            chat: "42".to_owned(),
            counted: true
        }
    );
    let tap = r#"{"update_id":2,"callback_query":{"id":"q","from":{"id":42},"data":"menu","message":{"message_id":6,"date":0,"chat":{"id":42,"type":"private"}}}}"#;
    assert!(route(&json(tap)).counted);
    let group = r#"{"update_id":3,"message":{"message_id":7,"date":0,"chat":{"id":-100123,"type":"supergroup"},"text":"hi"}}"#;
    assert_eq!(
        route(&json(group)),
        Route {
            chat: "-100123".to_owned(),
            counted: false
        }
    );
    let blocked =
        r#"{"update_id":4,"my_chat_member":{"chat":{"id":42,"type":"private"},"date":0}}"#;
    assert_eq!(route(&json(blocked)).chat, "42");
    assert!(!route(&json(blocked)).counted);
}
