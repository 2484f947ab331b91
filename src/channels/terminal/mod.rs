//! `tambon chat`: a chat with the engine in the terminal, over the same store. Quick
//! replies are numbered; type the number to choose.

use std::sync::Arc;

use chrono::Utc;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::domain::{Channel, ChatKey, Location};
use crate::engine::payload;
use crate::engine::{Choice, Inbound, InboundKind, Outbound};
use crate::inbox::Inbox;
use crate::store::Media;

/// Chats on standard input and output until end of input.
pub async fn run(inbox: Arc<Inbox>, user: String) -> anyhow::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let sender = ChatKey::new(Channel::Terminal, user.clone());
    let mut choices: Vec<Choice> = Vec::new();
    let mut next = Some(InboundKind::Postback(payload::START.to_owned()));
    loop {
        if let Some(kind) = next.take() {
            let inbound = Inbound {
                event_id: None,
                sender: sender.clone(),
                conversation: user.clone(),
                kind,
                received_at: Utc::now(),
                lang_hint: None,
            };
            let handled = inbox.handle(inbound).await?;
            choices = print_replies(&mut out, handled.replies()).await?;
        }
        out.write_all(b"> ").await?;
        out.flush().await?;
        let Some(line) = lines.next_line().await? else {
            out.write_all(b"\n").await?;
            return Ok(());
        };
        let line = line.trim().to_owned();
        let picked = crate::thai::normalize_digits(&line)
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|idx| choices.get(idx))
            .map(|choice| choice.payload.clone());
        next = Some(match picked.as_deref() {
            Some(payload::SHARE_LOCATION) => {
                out.write_all("latitude, longitude: ".as_bytes()).await?;
                out.flush().await?;
                let answer = lines.next_line().await?.unwrap_or_default();
                match parse_location(&answer) {
                    Some(location) => InboundKind::Location(location),
                    None => InboundKind::Text(answer),
                }
            }
            Some(payload::SHARE_PHOTO) => {
                out.write_all("path to a JPEG or PNG file: ".as_bytes())
                    .await?;
                out.flush().await?;
                let path = lines.next_line().await?.unwrap_or_default();
                match read_photo(&inbox, path.trim()).await {
                    Ok(media_id) => InboundKind::Image(media_id),
                    Err(error) => {
                        out.write_all(format!("! {error:#}\n").as_bytes()).await?;
                        continue;
                    }
                }
            }
            Some(payload) => InboundKind::Postback(payload.to_owned()),
            None => InboundKind::Text(line),
        });
    }
}

async fn print_replies(
    out: &mut tokio::io::Stdout,
    replies: &[Outbound],
) -> anyhow::Result<Vec<Choice>> {
    let mut text = String::new();
    let mut choices = Vec::new();
    for reply in replies {
        match reply {
            Outbound::Text { text: body } => {
                text.push_str(body);
                text.push('\n');
            }
            Outbound::QuickReplies {
                text: body,
                choices: these,
            } => {
                text.push_str(body);
                text.push('\n');
                choices.clone_from(these);
            }
            Outbound::Card(card) => {
                text.push_str(&format!("== {} ==\n", card.title));
                for line in &card.lines {
                    text.push_str(line);
                    text.push('\n');
                }
                if !card.buttons.is_empty() {
                    choices.clone_from(&card.buttons);
                }
            }
        }
    }
    for (idx, choice) in choices.iter().enumerate() {
        text.push_str(&format!("  [{}] {}\n", idx + 1, choice.label));
    }
    out.write_all(text.as_bytes()).await?;
    Ok(choices)
}

fn parse_location(text: &str) -> Option<Location> {
    let text = crate::thai::normalize_digits(text);
    let (lat, lon) = text.split_once(',')?;
    let latitude: f64 = lat.trim().parse().ok()?;
    let longitude: f64 = lon.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)).then_some(
        Location {
            latitude,
            longitude,
            address: None,
        },
    )
}

async fn read_photo(inbox: &Inbox, path: &str) -> anyhow::Result<String> {
    let bytes = tokio::fs::read(path).await?;
    let content_type = if bytes.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        anyhow::bail!("not a JPEG or PNG file");
    };
    Ok(inbox.store().save_media(&Media {
        content_type: content_type.to_owned(),
        bytes,
    })?)
}
