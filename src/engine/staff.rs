//! Staff commands in chat, in Thai or English: the queue, opening a case, answering its
//! resident, moving its status. Each sees only what the staff member's role may see.

use crate::domain::case::{Case, CaseCode, CaseKind, Status};
use crate::domain::role::Role;
use crate::engine::dialogue::Turn;
use crate::engine::{Action, AuditEvent, Card, Outbound};

/// Cases the queue lists at most.
const MAX_QUEUE: usize = 30;

enum Command<'t> {
    Queue,
    Open(&'t str),
    Answer(&'t str, &'t str),
    Status(&'t str, &'t str),
    Take(&'t str),
    Close(&'t str, &'t str),
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
                self.action = Some(Action::StaffAnswer {
                    case_id: case.id,
                    text: answer.to_owned(),
                });
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
                self.action = Some(Action::Take { case_id: case.id });
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
                self.action = Some(Action::Close {
                    case_id: case.id,
                    note: note.to_owned(),
                });
                self.audit.push(AuditEvent {
                    action: "close".to_owned(),
                    case_code: case.code.clone(),
                    detail: format!("{} -> resolved", case.status.as_str()),
                });
                self.replies.push(Outbound::Text {
                    text: render.text_with("staff-closed", &[("code", &case.code)]),
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
                self.action = Some(Action::SetStatus {
                    case_id: case.id,
                    to,
                });
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
