//! Staff commands in chat, in Thai or English: the queue, opening a case, answering its
//! resident, moving its status. Each sees only what the staff member's role may see.

use crate::domain::case::{Case, CaseCode, CaseKind, StaffNote, Status};
use crate::domain::change::CaseChange;
use crate::domain::role::Role;
use crate::engine::dialogue::Turn;
use crate::engine::{Action, AuditEvent, Card, Flow, Outbound};

/// Cases the queue lists at most.
const MAX_QUEUE: usize = 30;

#[derive(Clone, Copy)]
enum Command<'t> {
    Queue,
    Open(&'t str),
    Answer(&'t str, &'t str),
    Status(&'t str, &'t str),
    Take(&'t str),
    Close(&'t str, &'t str),
    Forward(&'t str, &'t str),
    CoResponsible(&'t str, &'t str),
    Note(&'t str, &'t str),
}

/// Whether a text is a staff command: in a group chat only these reach the bot.
#[must_use]
pub fn is_staff_command(text: &str) -> bool {
    parse(text).is_some()
}

fn parse(text: &str) -> Option<Command<'_>> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    let (code, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match word.to_lowercase().as_str() {
        "คิว" | "queue" if rest.is_empty() => Some(Command::Queue),
        "เปิด" | "ดู" | "open" if !code.is_empty() => Some(Command::Open(code)),
        "ตอบ" | "answer" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::Answer(code, tail.trim()))
        }
        "สถานะ" | "status" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::Status(code, tail.trim()))
        }
        "รับ" | "take" if !code.is_empty() && tail.trim().is_empty() => {
            Some(Command::Take(code))
        }
        "ปิด" | "close" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::Close(code, tail.trim()))
        }
        "ส่งต่อ" | "forward" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::Forward(code, tail.trim()))
        }
        "ร่วม" | "ร่วมดำเนินการ" | "cowork" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::CoResponsible(code, tail.trim()))
        }
        "บันทึก" | "note" if !code.is_empty() && !tail.trim().is_empty() => {
            Some(Command::Note(code, tail.trim()))
        }
        _ => None,
    }
}

fn status_word(word: &str) -> Option<Status> {
    match word.trim().to_lowercase().as_str() {
        "accepted" | "accept" | "รับ" | "รับเรื่อง" | "รับพิจารณา" => {
            Some(Status::Accepted)
        }
        "in_progress" | "progress" | "กำลังดำเนินการ" | "ดำเนินการ" => {
            Some(Status::InProgress)
        }
        "resolved" | "done" | "เสร็จ" | "แก้ไขแล้ว" | "ดำเนินการเสร็จแล้ว" => {
            Some(Status::Resolved)
        }
        "rejected" | "reject" | "ไม่รับ" | "ไม่รับพิจารณา" => {
            Some(Status::Rejected)
        }
        _ => None,
    }
}

impl Turn<'_> {
    /// Runs a staff command; returns false when the text is not one.
    pub(super) fn on_staff_command(&mut self, role: &Role, text: &str) -> anyhow::Result<bool> {
        let Some(command) = parse(text) else {
            return Ok(false);
        };
        let render = self.render();
        match command {
            Command::Queue => {
                let visible: Vec<Case> = self
                    .lookup
                    .open_cases()?
                    .into_iter()
                    .filter(|c| role.can_see(c))
                    .collect();
                let mut lines: Vec<String> = visible
                    .iter()
                    .take(MAX_QUEUE)
                    .map(|case| render.queue_line(case))
                    .collect();
                if lines.is_empty() {
                    lines.push(render.text("staff-queue-empty"));
                }
                self.replies.push(Outbound::Card(Card {
                    title: render.text_with(
                        "staff-queue-title",
                        &[("count", &visible.len().to_string())],
                    ),
                    lines,
                    buttons: Vec::new(),
                }));
            }
            Command::Open(code) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                if case.kind == CaseKind::Corruption {
                    self.audit.push(AuditEvent {
                        action: "view".to_owned(),
                        case_code: case.code.clone(),
                        detail: format!("reporter shown: {}", role.sees_reporter(&case)),
                    });
                }
                self.replies.push(Outbound::Card(
                    render.staff_view(&case, role.sees_reporter(&case)),
                ));
            }
            Command::Answer(code, answer) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                self.action = Some(Action::Case(CaseChange::StaffAnswer {
                    case_id: case.id,
                    text: answer.to_owned(),
                }));
                self.audit.push(AuditEvent {
                    action: "answer".to_owned(),
                    case_code: case.code.clone(),
                    detail: format!("{} characters", answer.chars().count()),
                });
                let id = if case.reporter.is_some() {
                    "staff-answer-sent"
                } else {
                    "staff-answer-kept"
                };
                self.replies.push(Outbound::Text {
                    text: render.text_with(id, &[("code", &case.code)]),
                });
            }
            Command::Take(code) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                self.action = Some(Action::Case(CaseChange::Take {
                    case_id: case.id,
                    staff: self.inbound.sender.clone(),
                }));
                self.audit.push(AuditEvent {
                    action: "take".to_owned(),
                    case_code: case.code.clone(),
                    detail: String::new(),
                });
                self.replies.push(Outbound::Text {
                    text: render.text_with("staff-taken", &[("code", &case.code)]),
                });
            }
            Command::Close(code, note) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                self.action = Some(Action::Case(CaseChange::Close {
                    case_id: case.id,
                    note: note.to_owned(),
                    photo: None,
                }));
                self.audit.push(AuditEvent {
                    action: "close".to_owned(),
                    case_code: case.code.clone(),
                    detail: format!("{} -> resolved", case.status.as_str()),
                });
                self.replies.push(Outbound::Text {
                    text: render.text_with("staff-closed", &[("code", &case.code)]),
                });
                // A photo sent next shows the result.
                self.conversation.flow = Flow::AwaitingAfterPhoto { case_id: case.id };
            }
            Command::Forward(code, division) | Command::CoResponsible(code, division) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                let Some(division) = self.engine.settings().division_by_name(division) else {
                    self.replies.push(Outbound::Text {
                        text: render.text("staff-division-unknown"),
                    });
                    return Ok(true);
                };
                let division = division.id.clone();
                let name = self
                    .engine
                    .settings()
                    .division_name(&division, render.lang());
                let (change, reply) = if matches!(command, Command::Forward(..)) {
                    (
                        CaseChange::Forward {
                            case_id: case.id,
                            to: division.clone(),
                        },
                        "staff-forwarded",
                    )
                } else {
                    (
                        CaseChange::CoResponsible {
                            case_id: case.id,
                            division: division.clone(),
                        },
                        "staff-co-added",
                    )
                };
                self.audit.push(AuditEvent {
                    action: if matches!(change, CaseChange::Forward { .. }) {
                        "forward".to_owned()
                    } else {
                        "co_responsible".to_owned()
                    },
                    case_code: case.code.clone(),
                    detail: format!("{} -> {division}", case.division),
                });
                self.action = Some(Action::Case(change));
                self.replies.push(Outbound::Text {
                    text: render.text_with(reply, &[("code", &case.code), ("division", &name)]),
                });
            }
            Command::Note(code, note) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                self.action = Some(Action::Case(CaseChange::Note {
                    case_id: case.id,
                    note: StaffNote {
                        at: self.inbound.received_at,
                        by: self.lookup.actor_label(&self.inbound.sender)?,
                        text: note.to_owned(),
                    },
                }));
                self.replies.push(Outbound::Text {
                    text: render.text_with("staff-note-kept", &[("code", &case.code)]),
                });
            }
            Command::Status(code, word) => {
                let Some(case) = self.visible_case(role, code)? else {
                    return self.not_visible();
                };
                let Some(to) = status_word(word) else {
                    self.replies.push(Outbound::Text {
                        text: render.text("staff-status-unknown"),
                    });
                    return Ok(true);
                };
                self.action = Some(Action::Case(CaseChange::SetStatus {
                    case_id: case.id,
                    to,
                }));
                self.audit.push(AuditEvent {
                    action: "status".to_owned(),
                    case_code: case.code.clone(),
                    detail: format!("{} -> {}", case.status.as_str(), to.as_str()),
                });
                self.replies.push(Outbound::Text {
                    text: render.text_with(
                        "staff-status-set",
                        &[("code", &case.code), ("status", &render.status_label(to))],
                    ),
                });
            }
        }
        Ok(true)
    }

    /// A button on a case card in a staff chat: `open:<id>` or `take:<id>`.
    pub(super) fn on_staff_button(&mut self, role: &Role, button: &str) -> anyhow::Result<bool> {
        let Some((command, id)) = button.split_once(':') else {
            return Ok(false);
        };
        let case = id
            .parse::<u64>()
            .ok()
            .map(|id| self.lookup.case(id))
            .transpose()?
            .flatten()
            .filter(|case| role.can_see(case));
        let Some(case) = case else {
            return self.not_visible();
        };
        let text = match command {
            "open" => format!("เปิด {}", case.code),
            "take" => format!("รับ {}", case.code),
            _ => return Ok(false),
        };
        self.on_staff_command(role, &text)
    }

    /// A photo after a chat close: attached to the case as its "after" photo.
    pub(super) fn on_after_photo(&mut self, media_id: String) -> anyhow::Result<()> {
        let Flow::AwaitingAfterPhoto { case_id } = std::mem::take(&mut self.conversation.flow)
        else {
            return Ok(());
        };
        let role = self.lookup.role_of(&self.inbound.sender)?;
        let case = self.lookup.case(case_id)?.filter(|case| role.can_see(case));
        let Some(case) = case else {
            self.not_visible()?;
            return Ok(());
        };
        self.action = Some(Action::Case(CaseChange::AfterPhoto {
            case_id: case.id,
            media_id,
        }));
        self.audit.push(AuditEvent {
            action: "after_photo".to_owned(),
            case_code: case.code.clone(),
            detail: String::new(),
        });
        let text = self
            .render()
            .text_with("staff-after-photo", &[("code", &case.code)]);
        self.replies.push(Outbound::Text { text });
        Ok(())
    }

    /// The case a code names, if this role may see it.
    fn visible_case(&self, role: &Role, code: &str) -> anyhow::Result<Option<Case>> {
        let Some(code) = CaseCode::parse(code) else {
            return Ok(None);
        };
        Ok(self
            .lookup
            .case_by_code(&code)?
            .filter(|case| role.can_see(case)))
    }

    /// Another division's case, or none: the same answer, so as not to tell which.
    fn not_visible(&mut self) -> anyhow::Result<bool> {
        let text = self.render().text("staff-not-visible");
        self.replies.push(Outbound::Text { text });
        Ok(true)
    }
}
