//! Rendering replies: menus, knowledge-base answers, case summaries and timelines.

use crate::domain::case::{Case, CaseEventKind, CaseKind, FiledCase, Notice, Status};
use crate::domain::Lang;
use crate::engine::dialogue::payload;
use crate::engine::{Card, Choice, Engine, Intake, Outbound, MAX_CHOICES};
use crate::kb::{Answer, Aspect, Item, Reading};

/// How much of a case's own text its timeline card repeats.
const CASE_TEXT_PREVIEW_CHARS: usize = 300;
/// Buttons a division's answer offers, one per item.
const MAX_ITEM_BUTTONS: usize = 3;

pub struct Render<'a> {
    engine: &'a Engine,
    lang: Lang,
}

impl<'a> Render<'a> {
    pub fn new(engine: &'a Engine, lang: Lang) -> Self {
        Self { engine, lang }
    }

    pub fn text(&self, id: &str) -> String {
        self.engine.locales().text(self.lang, id)
    }

    pub fn text_with(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.engine.locales().text_with(self.lang, id, args)
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn choice(&self, label_id: &str, payload: &str) -> Choice {
        Choice {
            label: self.text(label_id),
            payload: payload.to_owned(),
        }
    }

    pub fn choices(&self, text: String, mut choices: Vec<Choice>) -> Outbound {
        choices.truncate(MAX_CHOICES);
        Outbound::QuickReplies { text, choices }
    }

    /// `text` followed by the main menu.
    pub fn menu(&self, text: &str) -> Outbound {
        self.choices(
            text.to_owned(),
            vec![
                self.choice("menu-ask", payload::ASK),
                self.choice("menu-suggest", payload::SUGGEST),
                self.choice("menu-complain", payload::COMPLAIN),
                self.choice("menu-corruption", payload::CORRUPTION),
                self.choice("menu-follow", payload::FOLLOW),
                self.choice("menu-language", payload::LANGUAGE),
                self.choice("menu-subscribe", payload::SUBSCRIBE),
                self.choice("menu-link", payload::LINK),
            ],
        )
    }

    fn division_names(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.engine.settings().division_name(id, self.lang))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The item's status now: the plan's, unless staff reported progress since.
    fn status_of(&self, item: &Item) -> crate::kb::Status {
        self.engine
            .progress()
            .latest(&item.id)
            .map_or(item.status, |p| p.status)
    }

    fn status_line(&self, item: &Item) -> String {
        let id = match self.status_of(item) {
            crate::kb::Status::Done => "kb-status-done",
            crate::kb::Status::NotDone => "kb-status-not-done",
        };
        let mut line = format!("{}: {}", self.text("kb-label-status"), self.text(id));
        if let Some(progress) = self.engine.progress().latest(&item.id) {
            let at = crate::thai::format_date(progress.at, self.lang);
            line.push_str(&format!(
                " ({})",
                self.text_with("kb-progress-updated", &[("date", &at)])
            ));
            if let Some(note) = &progress.note {
                line.push_str(&format!("\n{}: {note}", self.text("kb-label-progress")));
            }
        }
        line
    }

    fn item_title(&self, item: &Item) -> String {
        let kb = self.engine.kb();
        match kb.assessment(&item.assessment) {
            Some(assessment) => format!(
                "{} · {} ({:.2})",
                assessment.acronym(),
                assessment.indicator(self.lang),
                assessment.score
            ),
            None => item.id.clone(),
        }
    }

    /// An item as a card, whole: the weaknesses found, the guidelines, the measures, who
    /// is responsible and the status, quoted from the plan. Shown when asked for.
    pub fn item_card(&self, item: &Item) -> Card {
        let lang = self.lang;
        let mut lines = Vec::new();
        let weaknesses: Vec<&str> = item.weaknesses.iter().map(|t| t.get(lang)).collect();
        lines.push(format!(
            "{}: {}",
            self.text("kb-label-weakness"),
            weaknesses.join(" / ")
        ));
        lines.push(format!("{}:", self.text("kb-label-guidelines")));
        lines.extend(item.guidelines.iter().map(|g| format!("• {}", g.get(lang))));
        if !item.measures.is_empty() {
            lines.push(format!("{}:", self.text("kb-label-measures")));
            for measure in &item.measures {
                lines.push(format!("• {}", measure.name.get(lang)));
                lines.extend(
                    measure
                        .details
                        .iter()
                        .map(|d| format!("  - {}", d.get(lang))),
                );
            }
        }
        lines.push(format!(
            "{}: {}",
            self.text("kb-label-responsible"),
            self.division_names(&item.divisions)
        ));
        lines.push(self.status_line(item));
        Card {
            title: self.item_title(item),
            lines,
            buttons: Vec::new(),
        }
    }

    /// The status in a few words: "✓ ดำเนินการแล้ว".
    fn status_word(&self, item: &Item) -> String {
        match self.status_of(item) {
            crate::kb::Status::Done => self.text("kb-status-done"),
            crate::kb::Status::NotDone => self.text("kb-status-not-done"),
        }
    }

    /// One line for an item: its assessment, indicator and status.
    fn item_line(&self, item: &Item) -> String {
        let weakness = item
            .weaknesses
            .first()
            .map(|w| crate::thai::truncate(w.get(self.lang), 60))
            .unwrap_or_default();
        format!(
            "• {}: {weakness} — {}",
            self.item_assessment(item),
            self.status_word(item)
        )
    }

    fn item_assessment(&self, item: &Item) -> String {
        self.engine
            .kb()
            .assessment(&item.assessment)
            .map(crate::kb::Assessment::acronym)
            .unwrap_or_default()
    }

    /// The answer to a question about the plan: a line that answers what was asked,
    /// the plan's words that support it, and a button for the whole item.
    pub fn answer(&self, reading: &Reading) -> Vec<Outbound> {
        let kb = self.engine.kb();
        let items =
            |ids: &[String]| -> Vec<&Item> { ids.iter().filter_map(|id| kb.item(id)).collect() };
        match &reading.answer {
            Answer::Scores(ids) => vec![Outbound::Card(self.scores_card(ids))],
            Answer::Meaning(ids) => vec![Outbound::Card(self.meaning_card(ids))],
            Answer::Items { ids, aspect } => items(ids)
                .into_iter()
                .map(|item| Outbound::Card(self.direct_card(reading, item, *aspect)))
                .collect(),
            Answer::Division {
                division,
                items: ids,
            } => {
                let name = self.engine.settings().division_name(division, self.lang);
                let found = items(ids);
                let mut lines = vec![self.text_with(
                    "kb-division-intro",
                    &[("division", &name), ("count", &found.len().to_string())],
                )];
                lines.extend(found.iter().map(|i| self.item_line(i)));
                vec![Outbound::Card(Card {
                    title: name,
                    lines,
                    buttons: found
                        .iter()
                        .take(MAX_ITEM_BUTTONS)
                        .map(|i| self.item_button(i))
                        .collect(),
                })]
            }
            Answer::Overview => {
                let mut lines = vec![self.text("kb-overview-intro")];
                lines.extend(kb.items.iter().map(|i| self.item_line(i)));
                vec![Outbound::Card(Card {
                    title: self.text("kb-overview-title"),
                    lines,
                    buttons: Vec::new(),
                })]
            }
            Answer::NotFound => vec![Outbound::Text {
                text: self.text("kb-not-found"),
            }],
        }
    }

    fn item_button(&self, item: &Item) -> Choice {
        Choice {
            label: self.text_with("kb-button-item", &[("item", &self.item_title_short(item))]),
            payload: format!("{}{}", payload::KB_ITEM_PREFIX, item.id),
        }
    }

    fn item_title_short(&self, item: &Item) -> String {
        let n_of_assessment = self
            .engine
            .kb()
            .items
            .iter()
            .filter(|i| i.assessment == item.assessment)
            .count();
        let acronym = self.item_assessment(item);
        let position = item.id.rsplit('-').next().unwrap_or_default();
        if n_of_assessment > 1 {
            format!("{acronym} {position}")
        } else {
            acronym
        }
    }

    /// One item answering one question: the direct line first.
    fn direct_card(&self, reading: &Reading, item: &Item, aspect: Aspect) -> Card {
        let index = self.engine.index();
        let mut support = index.support(reading, &item.id, self.lang, 2);
        let divisions = self.division_names(&item.divisions);
        let status = self.status_word(item);
        let quote = |text: &str| self.text_with("kb-quote", &[("text", text)]);
        let mut lines = Vec::new();
        let mut footer = true;
        match aspect {
            Aspect::Responsible => {
                footer = false;
                let names_a_person = support
                    .first()
                    .is_some_and(|p| self.mentions_responsibility(p));
                if names_a_person {
                    let passage = support.remove(0);
                    lines.push(self.text_with("kb-direct-plan-says", &[("text", &passage)]));
                } else {
                    lines.push(self.text_with(
                        "kb-direct-responsible",
                        &[("divisions", &divisions), ("status", &status)],
                    ));
                }
            }
            Aspect::Status => {
                footer = false;
                lines.push(self.text_with(
                    "kb-direct-status",
                    &[("status", &status), ("divisions", &divisions)],
                ));
                if let Some(progress) = self.engine.progress().latest(&item.id) {
                    let at = crate::thai::format_date(progress.at, self.lang);
                    lines.push(self.text_with("kb-progress-updated", &[("date", &at)]));
                    if let Some(note) = &progress.note {
                        lines.push(format!("{}: {note}", self.text("kb-label-progress")));
                    }
                }
            }
            Aspect::Channels => {
                let channels: Vec<String> = index
                    .channels_of(&item.id)
                    .into_iter()
                    .map(|c| self.text(&format!("kb-channel-{c}")))
                    .collect();
                if channels.is_empty() {
                    lines.push(self.text("kb-direct-no-channels"));
                } else {
                    lines.push(
                        self.text_with("kb-direct-channels", &[("channels", &channels.join(", "))]),
                    );
                }
            }
            Aspect::Measures if !item.measures.is_empty() => {
                let names: Vec<&str> = item
                    .measures
                    .iter()
                    .map(|m| m.name.get(self.lang))
                    .collect();
                support.retain(|p| !names.contains(&p.as_str()));
                lines
                    .push(self.text_with("kb-direct-measures", &[("measures", &names.join("; "))]));
                support.truncate(1);
            }
            Aspect::Measures | Aspect::General => {
                if !support.is_empty() {
                    let passage = support.remove(0);
                    lines.push(self.text_with("kb-direct-plan-says", &[("text", &passage)]));
                } else if let Some(weakness) = item.weaknesses.first() {
                    lines.push(self.text_with(
                        "kb-direct-plan-says",
                        &[("text", &crate::thai::truncate(weakness.get(self.lang), 160))],
                    ));
                }
                support.truncate(1);
            }
        }
        lines.extend(support.iter().map(|p| quote(p)));
        // Staff's latest report on the item, whatever was asked: the answer shows the
        // status as it is now.
        if aspect != Aspect::Status {
            if let Some(progress) = self.engine.progress().latest(&item.id) {
                let at = crate::thai::format_date(progress.at, self.lang);
                lines.push(self.text_with("kb-progress-updated", &[("date", &at)]));
                if let Some(note) = &progress.note {
                    lines.push(format!("{}: {note}", self.text("kb-label-progress")));
                }
            }
        }
        if footer {
            lines.push(self.text_with(
                "kb-direct-footer",
                &[("status", &status), ("divisions", &divisions)],
            ));
        }
        Card {
            title: self.item_title(item),
            lines,
            buttons: vec![Choice {
                label: self.text("kb-button-whole"),
                payload: format!("{}{}", payload::KB_ITEM_PREFIX, item.id),
            }],
        }
    }

    fn mentions_responsibility(&self, text: &str) -> bool {
        let word = self.text("kb-word-responsible");
        text.to_lowercase().contains(&word.to_lowercase())
    }

    /// The scores asked for: one line each.
    fn scores_card(&self, ids: &[String]) -> Card {
        let kb = self.engine.kb();
        let lines = kb
            .assessments
            .iter()
            .filter(|a| ids.is_empty() || ids.contains(&a.id))
            .map(|assessment| {
                self.text_with(
                    "kb-score-line",
                    &[
                        ("assessment", &assessment.acronym()),
                        ("indicator", assessment.indicator(self.lang)),
                        ("score", &format!("{:.2}", assessment.score)),
                    ],
                )
            })
            .collect();
        Card {
            title: self.text("kb-scores-title"),
            lines,
            buttons: Vec::new(),
        }
    }

    /// What the assessment's terms mean, from the glossary, with the office's score.
    fn meaning_card(&self, ids: &[String]) -> Card {
        let kb = self.engine.kb();
        let mut lines = Vec::new();
        let mut title = Vec::new();
        for id in ids {
            let score = kb.assessment(id).map(|a| {
                self.text_with(
                    "kb-score-line",
                    &[
                        ("assessment", &a.acronym()),
                        ("indicator", a.indicator(self.lang)),
                        ("score", &format!("{:.2}", a.score)),
                    ],
                )
            });
            match self.engine.glossary().term(id) {
                Some(term) => {
                    title.push(term.acronym.clone());
                    lines.push(self.text_with(
                        "kb-direct-meaning",
                        &[("acronym", &term.acronym), ("name", term.name(self.lang))],
                    ));
                    lines.push(term.meaning(self.lang).to_owned());
                }
                None => {
                    if let Some(a) = kb.assessment(id) {
                        title.push(a.acronym());
                        lines.push(self.text_with(
                            "kb-direct-meaning",
                            &[("acronym", &a.acronym()), ("name", a.title(self.lang))],
                        ));
                    }
                }
            }
            lines.extend(score);
        }
        Card {
            title: self.text_with("kb-meaning-title", &[("terms", &title.join(", "))]),
            lines,
            buttons: Vec::new(),
        }
    }

    fn kind_name(&self, kind: CaseKind) -> String {
        self.text(&format!("kind-{}", kind.as_str()))
    }

    fn category_name(&self, id: &str) -> String {
        self.engine
            .settings()
            .category(id)
            .map_or_else(|| id.to_owned(), |c| c.name(self.lang).to_owned())
    }

    fn status_name(&self, status: Status) -> String {
        self.text(&format!("status-{}", status.as_str()))
    }

    /// The summary shown before the resident confirms.
    pub fn summary(&self, intake: &Intake) -> Card {
        let none = self.text("summary-none");
        let mut lines = vec![
            format!(
                "{}: {}",
                self.text("label-kind"),
                self.kind_name(intake.kind)
            ),
            format!(
                "{}: {}",
                self.text("label-category"),
                intake
                    .category
                    .as_deref()
                    .map(|c| self.category_name(c))
                    .unwrap_or_else(|| none.clone())
            ),
            format!(
                "{}: {}",
                self.text("label-description"),
                intake.description.as_deref().unwrap_or(&none)
            ),
        ];
        let place = match (&intake.location, &intake.place) {
            (Some(location), _) => format!("{:.5}, {:.5}", location.latitude, location.longitude),
            (None, Some(place)) => place.clone(),
            (None, None) => none.clone(),
        };
        lines.push(format!("{}: {place}", self.text("label-location")));
        lines.push(format!(
            "{}: {}",
            self.text("label-photos"),
            intake.photos.len()
        ));
        if intake.kind == CaseKind::Corruption {
            let id = if intake.anonymous {
                "summary-anonymous"
            } else {
                "summary-named"
            };
            lines.push(format!(
                "{}: {}",
                self.text("label-identity"),
                self.text(id)
            ));
        }
        if !intake.anonymous {
            lines.push(format!(
                "{}: {}",
                self.text("label-contact"),
                intake.contact.as_deref().unwrap_or(&none)
            ));
        }
        lines.push(self.text("summary-confirm-hint"));
        Card {
            title: self.text("summary-title"),
            lines,
            buttons: vec![
                self.choice("button-confirm", payload::CONFIRM),
                self.choice("button-cancel", payload::CANCEL),
            ],
        }
    }

    /// The code a resident knows their case by; an anonymous case is known by its
    /// receipt only, so its code is not shown to them.
    pub fn public_code(&self, case: &Case) -> String {
        if case.anonymous {
            self.text("anonymous-case")
        } else {
            case.code.clone()
        }
    }

    /// A case with its timeline, for its reporter.
    pub fn case(&self, case: &Case) -> Card {
        let when = |at| crate::thai::format_datetime(at, self.lang);
        let mut lines = vec![
            format!("{}: {}", self.text("label-kind"), self.kind_name(case.kind)),
            format!(
                "{}: {}",
                self.text("label-category"),
                self.category_name(&case.category)
            ),
            format!(
                "{}: {}",
                self.text("label-description"),
                crate::thai::truncate(&case.text, CASE_TEXT_PREVIEW_CHARS)
            ),
            format!(
                "{}: {}",
                self.text("label-division"),
                self.engine
                    .settings()
                    .division_name(&case.division, self.lang)
            ),
            format!(
                "{}: {}",
                self.text("label-status"),
                self.status_name(case.status)
            ),
            format!("{}:", self.text("label-timeline")),
        ];
        for event in &case.events {
            let what = match &event.kind {
                CaseEventKind::Filed => self.text("timeline-filed"),
                CaseEventKind::StatusChanged { to } => {
                    self.text_with("timeline-status", &[("status", &self.status_name(*to))])
                }
                CaseEventKind::StaffAnswer { text } => {
                    self.text_with("timeline-staff-answer", &[("text", text)])
                }
                CaseEventKind::ResidentInfo { text } => {
                    self.text_with("timeline-resident-info", &[("text", text)])
                }
                CaseEventKind::Withdrawn => self.text("timeline-withdrawn"),
                CaseEventKind::Forwarded { to, .. } => self.text_with(
                    "timeline-forwarded",
                    &[("division", &self.division_name(to))],
                ),
                CaseEventKind::CoResponsible { division } => self.text_with(
                    "timeline-co-responsible",
                    &[("division", &self.division_name(division))],
                ),
                CaseEventKind::Reopened => self.text("timeline-reopened"),
                CaseEventKind::Rated { stars } => {
                    self.text_with("timeline-rated", &[("stars", &stars.to_string())])
                }
                CaseEventKind::AfterPhoto { .. } => self.text("timeline-after-photo"),
            };
            lines.push(format!("• {} — {what}", when(event.at)));
        }
        let buttons = if case.status.is_closed() {
            vec![self.choice("button-menu", payload::MENU)]
        } else {
            vec![
                self.choice("button-add-info", payload::ADD_INFO),
                self.choice("button-withdraw", payload::WITHDRAW),
                self.choice("button-menu", payload::MENU),
            ]
        };
        Card {
            title: self.public_code(case),
            lines,
            buttons,
        }
    }

    /// A case for the staff of its division: what, where, how to reach the resident.
    pub fn staff_card(&self, case: &Case, notice: &Notice) -> Card {
        let title_id = match notice {
            Notice::Filed => "staff-new-case",
            Notice::InfoAdded { .. } => "staff-info-added",
            Notice::Withdrawn => "staff-withdrawn",
            Notice::Forwarded { .. } => "staff-forwarded-here",
            Notice::CoResponsible { .. } => "staff-co-responsible",
            Notice::Rated { .. } => "staff-rated",
            Notice::Reopened => "staff-reopened",
            Notice::StaffAnswer { .. } | Notice::StatusChanged { .. } => "staff-updated",
        };
        let none = self.text("summary-none");
        let mut lines = vec![
            format!("{}: {}", self.text("label-kind"), self.kind_name(case.kind)),
            format!(
                "{}: {}",
                self.text("label-category"),
                self.category_name(&case.category)
            ),
            format!("{}: {}", self.text("label-description"), case.text),
        ];
        match notice {
            Notice::InfoAdded { text } => {
                lines.push(self.text_with("timeline-resident-info", &[("text", text)]));
            }
            Notice::Rated { stars } => {
                lines.push(self.text_with("staff-rating", &[("stars", &stars.to_string())]));
            }
            _ => {}
        }
        let place = match (&case.location, &case.place) {
            (Some(location), _) => format!("{:.5}, {:.5}", location.latitude, location.longitude),
            (None, Some(place)) => place.clone(),
            (None, None) => none.clone(),
        };
        lines.push(format!("{}: {place}", self.text("label-location")));
        lines.push(format!(
            "{}: {}",
            self.text("label-photos"),
            case.photos.len()
        ));
        // A card goes to a group chat: who reported a corruption complaint stays in the
        // dashboard, for the integrity officer alone.
        let contact = if case.anonymous {
            self.text("summary-anonymous")
        } else if case.kind == CaseKind::Corruption {
            self.text("staff-reporter-hidden")
        } else {
            case.contact.clone().unwrap_or(none)
        };
        lines.push(format!("{}: {contact}", self.text("label-contact")));
        lines.push(format!(
            "{}: {}",
            self.text("label-filed-at"),
            crate::thai::format_datetime(case.created_at, self.lang)
        ));
        // Buttons act on the case from the group chat: whoever taps must be staff who
        // may see it (checked when the tap arrives).
        if case.kind == CaseKind::Corruption {
            return Card {
                title: self.text_with(title_id, &[("code", &case.code)]),
                lines,
                buttons: Vec::new(),
            };
        }
        let mut buttons = vec![self.choice_payload(
            "button-staff-open",
            format!("{}open:{}", payload::STAFF_PREFIX, case.id),
        )];
        if !case.status.is_closed() && case.assignee.is_none() {
            buttons.push(self.choice_payload(
                "button-staff-take",
                format!("{}take:{}", payload::STAFF_PREFIX, case.id),
            ));
        }
        Card {
            title: self.text_with(title_id, &[("code", &case.code)]),
            lines,
            buttons,
        }
    }

    fn choice_payload(&self, id: &str, payload: String) -> Choice {
        Choice {
            label: self.text(id),
            payload,
        }
    }

    /// Buttons asking the resident to confirm a resolved case with a rating, or to say it
    /// is not fixed.
    pub fn rating_choices(&self, case: &Case) -> Vec<Choice> {
        let mut choices: Vec<Choice> = (1..=5)
            .rev()
            .map(|stars| Choice {
                label: "⭐".repeat(stars),
                payload: format!("{}{}:{stars}", payload::RATE_PREFIX, case.id),
            })
            .collect();
        choices.push(self.choice_payload(
            "button-not-fixed",
            format!("{}{}", payload::REOPEN_PREFIX, case.id),
        ));
        choices
    }

    /// One line of a staff queue.
    pub fn queue_line(&self, case: &Case) -> String {
        format!(
            "• {} · {} · {} · {}",
            case.code,
            self.category_name(&case.category),
            self.status_name(case.status),
            crate::thai::format_datetime(case.created_at, self.lang)
        )
    }

    fn division_name(&self, division: &str) -> String {
        self.engine.settings().division_name(division, self.lang)
    }

    pub fn status_label(&self, status: Status) -> String {
        self.status_name(status)
    }

    pub fn role_name(&self, role: &crate::domain::role::Role) -> String {
        use crate::domain::role::Role;
        match role {
            Role::Resident => self.text("role-resident"),
            Role::VillageHead { village } => {
                self.text_with("role-village-head", &[("village", &village.to_string())])
            }
            Role::Staff { division } => self.text_with(
                "role-staff",
                &[(
                    "division",
                    &self.engine.settings().division_name(division, self.lang),
                )],
            ),
            Role::IntegrityOfficer => self.text("role-integrity"),
            Role::Admin => self.text("role-admin"),
        }
    }

    /// A case for staff: everything, the reporter's contact only where the role may
    /// see it, and the timeline.
    pub fn staff_view(&self, case: &Case, sees_reporter: bool) -> Card {
        let mut card = self.staff_card(case, &Notice::Filed);
        card.title = case.code.clone();
        let contact_label = format!("{}:", self.text("label-contact"));
        let contact = match (sees_reporter, case.anonymous, &case.contact) {
            (false, _, _) => self.text("staff-reporter-hidden"),
            (true, true, _) => self.text("summary-anonymous"),
            (true, false, Some(contact)) => contact.clone(),
            (true, false, None) => self.text("summary-none"),
        };
        for line in &mut card.lines {
            if line.starts_with(&contact_label) {
                *line = format!("{contact_label} {contact}");
            }
        }
        card.lines.push(format!(
            "{}: {}",
            self.text("label-status"),
            self.status_name(case.status)
        ));
        let timeline = self.case(case);
        card.lines.extend(
            timeline
                .lines
                .into_iter()
                .skip_while(|l| !l.starts_with(&self.text("label-timeline"))),
        );
        card
    }

    /// What a resident is told on their channel when staff answer or move their case.
    pub fn resident_update(&self, case: &Case, notice: &Notice) -> Outbound {
        let code = self.public_code(case);
        let text = match notice {
            Notice::StaffAnswer { text } => {
                self.text_with("resident-staff-answer", &[("code", &code), ("text", text)])
            }
            Notice::StatusChanged {
                to: Status::Resolved,
            } => {
                let text = self.text_with("resident-resolved-rate", &[("code", &code)]);
                return self.choices(text, self.rating_choices(case));
            }
            Notice::StatusChanged { to } => self.text_with(
                "resident-status-changed",
                &[("code", &code), ("status", &self.status_name(*to))],
            ),
            Notice::Filed
            | Notice::InfoAdded { .. }
            | Notice::Withdrawn
            | Notice::Forwarded { .. }
            | Notice::CoResponsible { .. }
            | Notice::Rated { .. }
            | Notice::Reopened => self.text_with("staff-updated", &[("code", &code)]),
        };
        Outbound::Text { text }
    }

    /// The acknowledgement of a case on disk: its code, or the anonymous receipt.
    pub fn filed(&self, filed: &FiledCase, reveal_receipt: bool) -> Vec<Outbound> {
        let case = &filed.case;
        let division = self
            .engine
            .settings()
            .division_name(&case.division, self.lang);
        let filed_at = crate::thai::format_datetime(case.created_at, self.lang);
        let Some(receipt) = &filed.receipt else {
            return vec![Outbound::Card(Card {
                title: self.text_with("filed-title", &[("code", &case.code)]),
                lines: vec![
                    format!("{}: {}", self.text("label-kind"), self.kind_name(case.kind)),
                    format!(
                        "{}: {}",
                        self.text("label-category"),
                        self.category_name(&case.category)
                    ),
                    format!("{}: {division}", self.text("label-forwarded-to")),
                    format!("{}: {filed_at}", self.text("label-filed-at")),
                    self.text_with("filed-follow-hint", &[("code", &case.code)]),
                ],
                buttons: vec![self.choice("button-menu", payload::MENU)],
            })];
        };
        let text = if reveal_receipt {
            self.text_with(
                "filed-anonymous",
                &[
                    ("receipt", &receipt.display()),
                    ("division", &division),
                    ("at", &filed_at),
                ],
            )
        } else {
            self.text("filed-anonymous-redelivered")
        };
        vec![self.menu(&text)]
    }
}
