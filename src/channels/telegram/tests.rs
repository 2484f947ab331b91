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
