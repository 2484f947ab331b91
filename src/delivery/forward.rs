//! What a division's destination receives about a case.

use serde_json::json;

use crate::domain::case::Case;
pub use crate::domain::case::Notice;

/// The JSON sent to a destination. It never holds the reporter's platform id; the contact
/// the resident chose to give is included, since the division needs it to follow up.
#[must_use]
pub fn body(case: &Case, notice: &Notice) -> serde_json::Value {
    let (event, info) = match notice {
        Notice::Filed => ("case.filed", None),
        Notice::InfoAdded { text } => ("case.info_added", Some(text.as_str())),
        Notice::Withdrawn => ("case.withdrawn", None),
        Notice::StaffAnswer { text } => ("case.staff_answer", Some(text.as_str())),
        Notice::StatusChanged { to } => ("case.status_changed", Some(to.as_str())),
        Notice::Forwarded { from } => ("case.forwarded", Some(from.as_str())),
        Notice::CoResponsible { division } => ("case.co_responsible", Some(division.as_str())),
        Notice::Rated { stars } => ("case.rated", Some(rating_text(*stars))),
        Notice::Reopened => ("case.reopened", None),
    };
    json!({
        "event": event,
        "case": {
            "code": case.code,
            "kind": case.kind.as_str(),
            "category": case.category,
            "division": case.division,
            "status": case.status.as_str(),
            "text": case.text,
            "location": case.location,
            "place": case.place,
            "n_photos": case.photos.len(),
            "contact": case.contact,
            "anonymous": case.anonymous,
            "created_at": case.created_at.to_rfc3339(),
        },
        "info": info,
    })
}

fn rating_text(stars: u8) -> &'static str {
    ["0", "1", "2", "3", "4", "5"][usize::from(stars.min(5))]
}
