use serde_json::Value;

use super::*;

/// The messages as the JSON LINE receives.
fn rendered(replies: &[Outbound]) -> Vec<Value> {
    messages(replies)
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect()
}

#[test]
fn long_text_splits_in_utf16_units_without_breaking_characters() {
    // "𝕏" takes two UTF-16 units: 2,600 of them are 5,200 units.
    let text = "𝕏".repeat(2_600);
    let pieces = split_utf16(&text, MAX_TEXT_UTF16);
    assert_eq!(pieces.len(), 2);
    assert!(pieces
        .iter()
        .all(|p| p.encode_utf16().count() <= MAX_TEXT_UTF16));
    assert_eq!(pieces.concat(), text);
}

#[test]
fn thai_text_prefers_line_breaks() {
    let line = "ก".repeat(3_000);
    let text = format!("{line}\n{line}");
    let pieces = split_utf16(&text, MAX_TEXT_UTF16);
    assert_eq!(pieces, vec![line.clone(), line]);
}

#[test]
fn quick_replies_ride_on_the_last_message_and_are_capped() {
    let choices: Vec<Choice> = (0..20)
        .map(|n| Choice {
            label: format!("ตัวเลือกที่ยาวมากจนเกินยี่สิบตัวอักษร {n}"),
            payload: format!("p{n}"),
        })
        .collect();
    let rendered = rendered(&[
        Outbound::QuickReplies {
            text: "เลือก".to_owned(),
            choices,
        },
        Outbound::Text {
            text: "ท้าย".to_owned(),
        },
    ]);
    assert_eq!(rendered.len(), 2);
    assert!(rendered[0].get("quickReply").is_none());
    let items = rendered[1]["quickReply"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 13);
    let label = items[0]["action"]["label"].as_str().unwrap();
    assert!(label.chars().count() <= 20, "{label}");
    assert_eq!(items[0]["action"]["data"], "p0");
}

#[test]
fn sharing_choices_become_line_pickers() {
    let rendered = rendered(&[Outbound::QuickReplies {
        text: "ส่งตำแหน่ง".to_owned(),
        choices: vec![
            Choice {
                label: "ตำแหน่ง".to_owned(),
                payload: SHARE_LOCATION.to_owned(),
            },
            Choice {
                label: "รูป".to_owned(),
                payload: SHARE_PHOTO.to_owned(),
            },
        ],
    }]);
    let items = rendered[0]["quickReply"]["items"].as_array().unwrap();
    assert_eq!(items[0]["action"]["type"], "location");
    assert_eq!(items[1]["action"]["type"], "cameraRoll");
}

#[test]
fn a_card_is_a_flex_bubble() {
    let rendered = rendered(&[Outbound::Card(Card {
        title: "รับเรื่องแล้ว เลขที่ CP-2569-0001".to_owned(),
        lines: vec!["ประเภท: เรื่องร้องเรียน".to_owned(), String::new()],
        buttons: vec![Choice {
            label: "เมนู".to_owned(),
            payload: "menu".to_owned(),
        }],
    })]);
    let flex = &rendered[0];
    assert_eq!(flex["type"], "flex");
    assert!(flex["altText"].as_str().unwrap().starts_with("รับเรื่องแล้ว"));
    assert_eq!(
        flex["contents"]["body"]["contents"][0]["text"],
        "ประเภท: เรื่องร้องเรียน"
    );
    assert_eq!(
        flex["contents"]["body"]["contents"][1]["text"], " ",
        "LINE refuses empty text"
    );
    assert_eq!(
        flex["contents"]["footer"]["contents"][0]["action"]["data"],
        "menu"
    );
}

#[test]
fn a_card_is_the_whole_flex_bubble_line_takes() {
    let card = |buttons| {
        rendered(&[Outbound::Card(Card {
            title: "IIT · การใช้จ่ายงบประมาณ".to_owned(),
            lines: vec!["✓ ดำเนินการแล้ว".to_owned()],
            buttons,
        })])
        .remove(0)
    };
    // Every field, as the Messaging API's Flex reference names them.
    let header = serde_json::json!({
        "type": "box", "layout": "vertical", "backgroundColor": "#1B5E20",
        "contents": [{ "type": "text", "text": "IIT · การใช้จ่ายงบประมาณ", "wrap": true,
                       "weight": "bold", "color": "#FFFFFF" }],
    });
    let body = serde_json::json!({
        "type": "box", "layout": "vertical", "spacing": "sm",
        "contents": [{ "type": "text", "text": "✓ ดำเนินการแล้ว", "wrap": true, "size": "sm" }],
    });
    assert_eq!(
        card(vec![Choice {
            label: "เมนู".to_owned(),
            payload: "menu".to_owned(),
        }]),
        serde_json::json!({
            "type": "flex",
            "altText": "IIT · การใช้จ่ายงบประมาณ\n✓ ดำเนินการแล้ว",
            "contents": {
                "type": "bubble", "header": header, "body": body,
                "footer": { "type": "box", "layout": "vertical", "contents": [{
                    "type": "button", "style": "link", "height": "sm",
                    "action": { "type": "postback", "label": "เมนู", "data": "menu",
                                "displayText": "เมนู" },
                }] },
            },
        })
    );
    assert_eq!(
        card(Vec::new()),
        serde_json::json!({
            "type": "flex",
            "altText": "IIT · การใช้จ่ายงบประมาณ\n✓ ดำเนินการแล้ว",
            "contents": { "type": "bubble", "header": header, "body": body },
        }),
        "a card without buttons has no footer"
    );
}
