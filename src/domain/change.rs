//! What a turn changes in cases, as values: the engine and the dashboard say what to
//! change (`CaseChange`), this module says what that does to a case (`apply_to`,
//! `Case::filed`), and the store writes the result. Nothing here reads or writes the
//! store, so a turn's whole effect is decided before its transaction.

use chrono::{DateTime, Utc};

use crate::domain::case::{
    Case, CaseCode, CaseEvent, CaseEventKind, NewCase, Notice, StaffNote, Status,
    CASE_RECORD_VERSION,
};
use crate::domain::ChatKey;

/// A change to cases that a conversation turn or a staff member makes.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseChange {
    /// File a new case. `receipt_hash` is set for an anonymous corruption complaint.
    File {
        case: Box<NewCase>,
        receipt_hash: Option<Vec<u8>>,
    },
    /// The resident adds information to an open case.
    AddInfo { case_id: u64, text: String },
    /// The resident withdraws an open case.
    Withdraw { case_id: u64 },
    /// Staff answer the resident.
    StaffAnswer { case_id: u64, text: String },
    /// Staff move the case to another status.
    SetStatus { case_id: u64, to: Status },
    /// A staff member takes the case: it is theirs, and accepted if it was new.
    Take { case_id: u64, staff: ChatKey },
    /// Staff close the case as resolved, with a note to the resident and optionally a
    /// photo of the result.
    Close {
        case_id: u64,
        note: String,
        photo: Option<String>,
    },
    /// Staff hand the case to another division, which owns it from now on.
    Forward { case_id: u64, to: String },
    /// Staff bring another division in to work the case with its owner.
    CoResponsible { case_id: u64, division: String },
    /// A note among staff, never shown to the resident.
    Note { case_id: u64, note: StaffNote },
    /// Staff give the case to someone (or to nobody).
    Assign {
        case_id: u64,
        staff: Option<ChatKey>,
    },
    /// The resident confirms the resolution with a rating, 1 to 5.
    Rate { case_id: u64, stars: u8 },
    /// The resident says the resolved case was not fixed.
    Reopen { case_id: u64 },
    /// Staff attach a photo of the result (after closing from a chat).
    AfterPhoto { case_id: u64, media_id: String },
}

impl CaseChange {
    /// The existing case a change is about (none for filing).
    pub fn case_id(&self) -> Option<u64> {
        match self {
            Self::File { .. } => None,
            Self::AddInfo { case_id, .. }
            | Self::Withdraw { case_id }
            | Self::StaffAnswer { case_id, .. }
            | Self::SetStatus { case_id, .. }
            | Self::Take { case_id, .. }
            | Self::Close { case_id, .. }
            | Self::Forward { case_id, .. }
            | Self::CoResponsible { case_id, .. }
            | Self::Note { case_id, .. }
            | Self::Assign { case_id, .. }
            | Self::Rate { case_id, .. }
            | Self::Reopen { case_id }
            | Self::AfterPhoto { case_id, .. } => Some(*case_id),
        }
    }

    /// Makes the change to an existing case; returns what to tell its division or its
    /// resident.
    pub fn apply_to(&self, case: &mut Case, now: DateTime<Utc>) -> Vec<Notice> {
        match self {
            Self::File { .. } => Vec::new(),
            Self::AddInfo { text, .. } => {
                case.record(now, CaseEventKind::ResidentInfo { text: text.clone() });
                vec![Notice::InfoAdded { text: text.clone() }]
            }
            Self::Withdraw { .. } => {
                case.record(now, CaseEventKind::Withdrawn);
                case.status = Status::Withdrawn;
                vec![Notice::Withdrawn]
            }
            Self::StaffAnswer { text, .. } => {
                case.record(now, CaseEventKind::StaffAnswer { text: text.clone() });
                vec![Notice::StaffAnswer { text: text.clone() }]
            }
            Self::SetStatus { to, .. } => {
                case.record(now, CaseEventKind::StatusChanged { to: *to });
                case.status = *to;
                vec![Notice::StatusChanged { to: *to }]
            }
            Self::Take { staff, .. } => {
                let newly_accepted = case.status == Status::Received;
                if newly_accepted {
                    case.record(
                        now,
                        CaseEventKind::StatusChanged {
                            to: Status::Accepted,
                        },
                    );
                    case.status = Status::Accepted;
                }
                case.assignee = Some(staff.clone());
                if newly_accepted {
                    vec![Notice::StatusChanged {
                        to: Status::Accepted,
                    }]
                } else {
                    Vec::new()
                }
            }
            Self::Close { note, photo, .. } => {
                case.record(now, CaseEventKind::StaffAnswer { text: note.clone() });
                if let Some(media_id) = photo {
                    case.record(
                        now,
                        CaseEventKind::AfterPhoto {
                            media_id: media_id.clone(),
                        },
                    );
                }
                case.record(
                    now,
                    CaseEventKind::StatusChanged {
                        to: Status::Resolved,
                    },
                );
                case.status = Status::Resolved;
                vec![
                    Notice::StaffAnswer { text: note.clone() },
                    Notice::StatusChanged {
                        to: Status::Resolved,
                    },
                ]
            }
            Self::Forward { to, .. } => {
                let from = std::mem::replace(&mut case.division, to.clone());
                case.record(
                    now,
                    CaseEventKind::Forwarded {
                        from: from.clone(),
                        to: to.clone(),
                    },
                );
                case.co_divisions.retain(|d| d != to);
                // The new division decides who works it.
                case.assignee = None;
                vec![Notice::Forwarded { from }]
            }
            Self::CoResponsible { division, .. } => {
                if case.concerns_division(division) {
                    return Vec::new();
                }
                case.co_divisions.push(division.clone());
                case.record(
                    now,
                    CaseEventKind::CoResponsible {
                        division: division.clone(),
                    },
                );
                vec![Notice::CoResponsible {
                    division: division.clone(),
                }]
            }
            Self::Note { note, .. } => {
                case.notes.push(note.clone());
                Vec::new()
            }
            Self::Assign { staff, .. } => {
                case.assignee.clone_from(staff);
                Vec::new()
            }
            Self::Rate { stars, .. } => {
                let stars = (*stars).clamp(1, 5);
                case.rating = Some(stars);
                case.record(now, CaseEventKind::Rated { stars });
                vec![Notice::Rated { stars }]
            }
            Self::AfterPhoto { media_id, .. } => {
                case.record(
                    now,
                    CaseEventKind::AfterPhoto {
                        media_id: media_id.clone(),
                    },
                );
                Vec::new()
            }
            Self::Reopen { .. } => {
                case.record(now, CaseEventKind::Reopened);
                case.record(
                    now,
                    CaseEventKind::StatusChanged {
                        to: Status::InProgress,
                    },
                );
                case.status = Status::InProgress;
                case.reopen_count += 1;
                case.rating = None;
                vec![Notice::Reopened]
            }
        }
    }
}

impl Case {
    /// A case as filed: its id and code allocated by the store, received now.
    #[must_use]
    pub fn filed(new: &NewCase, id: u64, code: CaseCode, now: DateTime<Utc>) -> Self {
        Self {
            v: CASE_RECORD_VERSION,
            id,
            code: code.to_string(),
            kind: new.kind,
            category: new.category.clone(),
            division: new.division.clone(),
            text: new.text.clone(),
            location: new.location.clone(),
            place: new.place.clone(),
            photos: new.photos.clone(),
            contact: new.contact.clone(),
            reporter: (!new.anonymous).then(|| new.reporter.clone()),
            anonymous: new.anonymous,
            status: Status::Received,
            created_at: now,
            events: vec![CaseEvent {
                at: now,
                kind: CaseEventKind::Filed,
            }],
            assignee: None,
            channel: Some(new.reporter.channel),
            co_divisions: Vec::new(),
            notes: Vec::new(),
            rating: None,
            reopen_count: 0,
        }
    }
}
