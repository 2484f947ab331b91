//! What `tambon line` does for the office's operators: the rich menu, a check of the
//! token and webhook settings, and binding group chats to divisions.

use std::fmt::Write as _;

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::channels::line::Client;
use crate::config::Line as LineSettings;

/// Creates the rich menu described in `config/`, uploads its image and makes it every
/// user's default. Returns the new rich menu's id.
pub async fn rich_menu(client: &Client, settings: &LineSettings) -> anyhow::Result<String> {
    let definition = std::fs::read_to_string(&settings.rich_menu)
        .with_context(|| format!("cannot read {}", settings.rich_menu.display()))?;
    let definition: Value = serde_json::from_str(&definition)
        .with_context(|| format!("{} is not JSON", settings.rich_menu.display()))?;
    let image = std::fs::read(&settings.rich_menu_image)
        .with_context(|| format!("cannot read {}", settings.rich_menu_image.display()))?;
    let content_type = if image.starts_with(b"\x89PNG") {
        "image/png"
    } else if image.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else {
        anyhow::bail!("the rich menu image must be a PNG or JPEG file");
    };
    anyhow::ensure!(
        image.len() <= 1024 * 1024,
        "LINE takes rich menu images of at most 1 MB"
    );
    let created = client
        .post_for_json("/v2/bot/richmenu", &definition)
        .await
        .context("LINE refused the rich menu")?;
    let id = created["richMenuId"]
        .as_str()
        .context("LINE gave no richMenuId")?
        .to_owned();
    client
        .upload_rich_menu_image(&id, content_type, image)
        .await
        .context("LINE refused the rich menu image")?;
    client
        .post_for_json(&format!("/v2/bot/user/all/richmenu/{id}"), &json!({}))
        .await
        .context("LINE refused to make the rich menu the default")?;
    Ok(id)
}

/// Checks the access token (bot info) and the webhook settings, and asks LINE to test
/// the webhook. Returns a report; fails when the token does not work.
pub async fn check(client: &Client) -> anyhow::Result<String> {
    let mut report = String::new();
    let info = client
        .get_json("/v2/bot/info")
        .await
        .context("the channel access token does not work")?;
    writeln!(
        report,
        "token: ok, bot {} ({})",
        info["displayName"].as_str().unwrap_or("?"),
        info["basicId"].as_str().unwrap_or("?")
    )?;
    match client.get_json("/v2/bot/channel/webhook/endpoint").await {
        Ok(endpoint) => {
            let url = endpoint["endpoint"].as_str().unwrap_or("(none)");
            let active = endpoint["active"].as_bool().unwrap_or(false);
            writeln!(
                report,
                "webhook: {url} ({})",
                if active {
                    "in use"
                } else {
                    "NOT in use: turn on \"Use webhook\""
                }
            )?;
            if !url.ends_with("/webhook/line") {
                writeln!(
                    report,
                    "warning: the webhook URL should end with /webhook/line"
                )?;
            }
        }
        Err(error) => writeln!(report, "webhook: cannot read the settings ({error})")?,
    }
    match client
        .post_for_json("/v2/bot/channel/webhook/test", &json!({}))
        .await
    {
        Ok(test) => writeln!(
            report,
            "webhook test: {} (HTTP {}, {})",
            if test["success"].as_bool().unwrap_or(false) {
                "ok"
            } else {
                "FAILED"
            },
            test["statusCode"],
            test["reason"].as_str().unwrap_or("")
        )?,
        Err(error) => writeln!(report, "webhook test: not run ({error})")?,
    }
    Ok(report)
}
