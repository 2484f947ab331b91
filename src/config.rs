//! Settings: `config/tambon.toml`, then environment overrides; secrets only from the
//! environment.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::case::CaseKind;
use crate::domain::Lang;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub office: Office,
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub delivery: Delivery,
    #[serde(rename = "division")]
    pub divisions: Vec<Division>,
    pub integrity: Integrity,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    #[serde(rename = "destination", default)]
    pub destinations: Vec<Destination>,
    #[serde(default)]
    pub line: Line,
    #[serde(default)]
    pub messenger: Messenger,
    #[serde(default)]
    pub telegram: Telegram,
    #[serde(default)]
    pub dashboard: Dashboard,
    /// Acknowledgement and resolution deadlines, in working days.
    #[serde(default)]
    pub deadlines: crate::calendar::DeadlineSettings,
    /// The villages (หมู่ที่) of the subdistrict, which residents subscribe to.
    #[serde(rename = "village", default)]
    pub villages: Vec<Village>,
    #[serde(default)]
    pub updates: Updates,
}

/// A village of the subdistrict.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    /// หมู่ที่ N.
    pub number: u32,
    pub th: String,
    pub en: String,
}

/// Updates sent to subscribers by village heads and staff.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Updates {
    /// Updates a village head may send a day.
    pub max_per_day: u32,
    pub max_text_chars: usize,
    /// How long a confirmed update waits before it goes out: the time an admin has to
    /// withdraw it.
    pub hold_minutes: u32,
    /// Subscribers handled per fan-out step (one transaction each).
    pub batch: usize,
}

impl Default for Updates {
    fn default() -> Self {
        Self {
            max_per_day: 3,
            max_text_chars: 1000,
            hold_minutes: 5,
            batch: 500,
        }
    }
}

/// The staff web dashboard under `/staff`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dashboard {
    /// Mark the session cookie `Secure` (sent over HTTPS only; browsers make an exception
    /// for `localhost`). Turn off only behind a proxy on a trusted network.
    pub secure_cookies: bool,
    /// How long a login lasts without being used.
    pub session_hours: u32,
    /// Failed passwords in a row before a login is locked.
    pub max_failures: u32,
    pub lockout_minutes: u32,
    /// Password checks (Argon2id, about 19 MiB each) run at once; the others wait.
    pub max_parallel_password_checks: usize,
    /// How long a login attempt waits for its turn before it is answered 429.
    pub password_check_wait_seconds: u64,
    /// Login attempts one client address may make a minute (0: no limit). Behind a
    /// proxy every attempt comes from the proxy's address: raise it there.
    pub login_attempts_per_address_per_minute: u32,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            session_hours: 8,
            max_failures: 5,
            lockout_minutes: 15,
            max_parallel_password_checks: 2,
            password_check_wait_seconds: 10,
            login_attempts_per_address_per_minute: 20,
        }
    }
}

/// The Telegram bot. Secrets from the environment only: `TELEGRAM_BOT_TOKEN`, and in
/// webhook mode `TELEGRAM_WEBHOOK_SECRET` (the `secret_token` given to `setWebhook`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telegram {
    pub enabled: bool,
    pub mode: TelegramMode,
    /// `https://api.telegram.org`; tests point it at a local fake.
    pub api_url: String,
    pub max_body_bytes: usize,
    /// Long-polling: how long one `getUpdates` call waits for updates.
    pub poll_timeout_secs: u32,
    /// Messages a second the bot sends at most (Telegram allows a bot about 30 a second
    /// across chats); 0 for no pacing.
    pub max_messages_per_second: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// Telegram posts updates to `/webhook/telegram` (needs a public HTTPS address).
    Webhook,
    /// tambon asks Telegram for updates: for offices without a public address.
    Polling,
}

impl Default for Telegram {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: TelegramMode::Webhook,
            api_url: "https://api.telegram.org".to_owned(),
            max_body_bytes: 1024 * 1024,
            poll_timeout_secs: 30,
            max_messages_per_second: 30,
        }
    }
}

/// The Facebook Page's Messenger channel. Secrets from the environment only:
/// `MESSENGER_APP_SECRET`, `MESSENGER_PAGE_TOKEN`, `MESSENGER_VERIFY_TOKEN`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Messenger {
    pub enabled: bool,
    /// `https://graph.facebook.com`; tests point it at a local fake.
    pub graph_base: String,
    pub graph_version: String,
    /// Message tags the office may use outside the 24-hour window. Only `HUMAN_AGENT`
    /// (a staff answer, within 7 days) is meaningful for tambon.
    pub permitted_tags: Vec<String>,
    pub max_body_bytes: usize,
}

impl Default for Messenger {
    fn default() -> Self {
        Self {
            enabled: true,
            graph_base: "https://graph.facebook.com".to_owned(),
            graph_version: "v21.0".to_owned(),
            permitted_tags: vec!["HUMAN_AGENT".to_owned()],
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The LINE Official Account channel. Its secrets come from the environment
/// (`LINE_CHANNEL_SECRET`, `LINE_CHANNEL_ACCESS_TOKEN`); without them the channel is off.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Line {
    pub enabled: bool,
    /// `https://api.line.me`; tests point it at a local fake.
    pub api_base: String,
    /// `https://api-data.line.me`, the host serving message content.
    pub data_api_base: String,
    /// How long after an event its reply token is used; later, answers are pushed.
    pub reply_token_ttl_secs: u64,
    /// Largest webhook body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds of loading animation shown while a slow answer is prepared (5 to 60).
    pub loading_seconds: u32,
    /// The rich menu definition and image used by `tambon line rich-menu`, relative to
    /// this file's folder.
    pub rich_menu: PathBuf,
    pub rich_menu_image: PathBuf,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            enabled: true,
            api_base: "https://api.line.me".to_owned(),
            data_api_base: "https://api-data.line.me".to_owned(),
            reply_token_ttl_secs: 30,
            max_body_bytes: 1024 * 1024,
            loading_seconds: 10,
            rich_menu: PathBuf::from("line-rich-menu.json"),
            rich_menu_image: PathBuf::from("line-rich-menu.png"),
        }
    }
}

/// Secrets, read from the environment only, never from a file of the repository.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    pub line: Option<LineSecrets>,
    pub messenger: Option<MessengerSecrets>,
    pub telegram: Option<TelegramSecrets>,
}

#[derive(Clone, Debug)]
pub struct TelegramSecrets {
    pub bot_token: SecretString,
    /// Required in webhook mode: updates without it are refused.
    pub webhook_secret: Option<SecretString>,
}

#[derive(Clone, Debug)]
pub struct MessengerSecrets {
    pub app_secret: SecretString,
    pub page_token: SecretString,
    pub verify_token: SecretString,
}

#[derive(Clone, Debug)]
pub struct LineSecrets {
    pub channel_secret: SecretString,
    pub access_token: SecretString,
}

impl Secrets {
    /// Reads every channel's secrets; a channel missing one is off, said in one log line.
    #[must_use]
    pub fn from_env() -> Self {
        let line = match (
            secret_from_env("LINE_CHANNEL_SECRET"),
            secret_from_env("LINE_CHANNEL_ACCESS_TOKEN"),
        ) {
            (Some(channel_secret), Some(access_token)) => Some(LineSecrets {
                channel_secret,
                access_token,
            }),
            _ => {
                tracing::info!(
                    "LINE is off: LINE_CHANNEL_SECRET or LINE_CHANNEL_ACCESS_TOKEN is not set"
                );
                None
            }
        };
        let messenger = match (
            secret_from_env("MESSENGER_APP_SECRET"),
            secret_from_env("MESSENGER_PAGE_TOKEN"),
            secret_from_env("MESSENGER_VERIFY_TOKEN"),
        ) {
            (Some(app_secret), Some(page_token), Some(verify_token)) => Some(MessengerSecrets {
                app_secret,
                page_token,
                verify_token,
            }),
            _ => {
                tracing::info!("Messenger is off: MESSENGER_APP_SECRET, MESSENGER_PAGE_TOKEN or MESSENGER_VERIFY_TOKEN is not set");
                None
            }
        };
        let telegram = match secret_from_env("TELEGRAM_BOT_TOKEN") {
            Some(bot_token) => Some(TelegramSecrets {
                bot_token,
                webhook_secret: secret_from_env("TELEGRAM_WEBHOOK_SECRET"),
            }),
            None => {
                tracing::info!("Telegram is off: TELEGRAM_BOT_TOKEN is not set");
                None
            }
        };
        Self {
            line,
            messenger,
            telegram,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub name_th: String,
    pub name_en: String,
    /// Where the office's own site hosts the web chat: offered as the more private way to
    /// report corruption.
    pub web_chat_url: String,
}

impl Office {
    #[must_use]
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Th => &self.name_th,
            Lang::En => &self.name_en,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Largest request body accepted by the chat API, in bytes.
    pub max_body_bytes: usize,
    /// Largest photo a resident may upload, in bytes.
    pub max_photo_bytes: usize,
    /// Web chat messages one session may send a minute (0: no limit).
    pub web_chat_per_session_per_minute: u32,
    /// Web chat requests (messages and uploads) one client address may make a minute
    /// (0: no limit). Behind a proxy every request comes from the proxy's address: raise
    /// it there.
    pub web_chat_per_address_per_minute: u32,
    /// Messages (texts, taps, photos) one person may send a minute in a private chat on
    /// LINE, Messenger or Telegram (0: no limit). Past it the person is asked once a
    /// minute to slow down and the rest is dropped before any work, so that a flood
    /// from one person does not delay the others.
    pub platform_messages_per_person_per_minute: u32,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 64 * 1024,
            max_photo_bytes: 5 * 1024 * 1024,
            web_chat_per_session_per_minute: 60,
            web_chat_per_address_per_minute: 300,
            platform_messages_per_person_per_minute: 30,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    pub measures: PathBuf,
    pub vocabulary: PathBuf,
    /// The assessment's terms explained (ITA, IIT, EIT, OIT).
    pub glossary: PathBuf,
    /// What residents mean: intents, their terms and examples.
    pub intents: PathBuf,
    pub locales: PathBuf,
}

/// Relative paths are relative to the folder of the configuration file.
impl Default for Paths {
    fn default() -> Self {
        Self {
            measures: PathBuf::from("measures.toml"),
            vocabulary: PathBuf::from("vocabulary.toml"),
            glossary: PathBuf::from("glossary.toml"),
            intents: PathBuf::from("intents.toml"),
            locales: PathBuf::from("../locales"),
        }
    }
}

/// Retry policy of the outbox dispatcher.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_attempts: u32,
    pub timeout_ms: u64,
    /// How many deliveries are in flight at once.
    pub concurrency: usize,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            base_delay_ms: 2_000,
            max_delay_ms: 30 * 60 * 1_000,
            max_attempts: 12,
            timeout_ms: 10_000,
            concurrency: 16,
        }
    }
}

impl Delivery {
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Division {
    pub id: String,
    pub th: String,
    pub en: String,
    #[serde(default)]
    pub destinations: Vec<String>,
}

impl Division {
    #[must_use]
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Th => &self.th,
            Lang::En => &self.en,
        }
    }
}

/// The integrity officer: receives every corruption complaint, instead of the division
/// the complaint concerns.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    pub th: String,
    pub en: String,
    #[serde(default)]
    pub destinations: Vec<String>,
}

/// The division id under which corruption complaints are filed.
pub const INTEGRITY_DIVISION: &str = "integrity";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub th: String,
    pub en: String,
    /// The division this category is routed to; ignored for corruption complaints.
    pub division: String,
    pub kinds: Vec<CaseKind>,
    /// Words that name this category in a resident's message ("ไฟถนน", "pothole"): a
    /// problem told plainly is filed under the category whose terms it names.
    #[serde(default)]
    pub terms: Vec<String>,
}

impl Category {
    #[must_use]
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Th => &self.th,
            Lang::En => &self.en,
        }
    }
}

// No `deny_unknown_fields` here: serde cannot combine it with `flatten`; the kind's enum
// denies unknown fields instead.
#[derive(Clone, Debug, Deserialize)]
pub struct Destination {
    pub id: String,
    #[serde(flatten)]
    pub kind: DestinationKind,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationKind {
    /// Writes a one-line notice to the log (never the case's text or reporter).
    Log,
    /// POSTs the case as JSON, signed with HMAC-SHA256 of the body under the secret found
    /// in the environment variable `secret_env`.
    Webhook {
        url: String,
        #[serde(default)]
        secret_env: Option<String>,
    },
}

impl Settings {
    /// Reads the file, applies `TAMBON_LISTEN` and `TAMBON_DATA_DIR`, and checks that every
    /// reference (category → division → destination) resolves.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut settings: Self = toml::from_str(&text)
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        // The knowledge base, vocabulary and texts sit beside the configuration file,
        // wherever tambon is started from.
        let config_dir = path.parent().unwrap_or_else(|| Path::new(""));
        for file in [
            &mut settings.paths.measures,
            &mut settings.paths.vocabulary,
            &mut settings.paths.glossary,
            &mut settings.paths.intents,
            &mut settings.paths.locales,
            &mut settings.line.rich_menu,
            &mut settings.line.rich_menu_image,
            &mut settings.deadlines.holidays,
        ] {
            if file.is_relative() {
                *file = config_dir.join(&*file);
            }
        }
        if let Ok(listen) = std::env::var("TAMBON_LISTEN") {
            settings.server.listen = listen
                .parse()
                .with_context(|| format!("TAMBON_LISTEN is not an address: {listen}"))?;
        }
        if let Ok(data_dir) = std::env::var("TAMBON_DATA_DIR") {
            settings.server.data_dir = PathBuf::from(data_dir);
        }
        settings
            .validate()
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        Ok(settings)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let destination_ids: HashSet<&str> =
            self.destinations.iter().map(|d| d.id.as_str()).collect();
        let division_ids: HashSet<&str> = self.divisions.iter().map(|d| d.id.as_str()).collect();
        anyhow::ensure!(
            !division_ids.contains(INTEGRITY_DIVISION),
            "division id `{INTEGRITY_DIVISION}` is reserved for the integrity officer"
        );
        for division in &self.divisions {
            for destination in &division.destinations {
                anyhow::ensure!(
                    destination_ids.contains(destination.as_str()),
                    "division `{}` names unknown destination `{destination}`",
                    division.id
                );
            }
        }
        for destination in &self.integrity.destinations {
            anyhow::ensure!(
                destination_ids.contains(destination.as_str()),
                "integrity names unknown destination `{destination}`"
            );
        }
        let mut category_ids = HashSet::new();
        for category in &self.categories {
            anyhow::ensure!(
                category_ids.insert(category.id.as_str()),
                "category `{}` is defined twice",
                category.id
            );
            anyhow::ensure!(
                division_ids.contains(category.division.as_str()),
                "category `{}` names unknown division `{}`",
                category.id,
                category.division
            );
            anyhow::ensure!(
                category.id.len() <= 24 && category.id.is_ascii(),
                "category id `{}` must be short ASCII (it travels in button payloads)",
                category.id
            );
        }
        Ok(())
    }

    #[must_use]
    pub fn division(&self, id: &str) -> Option<&Division> {
        self.divisions.iter().find(|d| d.id == id)
    }

    #[must_use]
    pub fn village(&self, number: u32) -> Option<&Village> {
        self.villages.iter().find(|v| v.number == number)
    }

    /// A division by its id or its Thai or English name, as staff may type it.
    #[must_use]
    pub fn division_by_name(&self, name: &str) -> Option<&Division> {
        let name = name.trim();
        self.divisions.iter().find(|d| {
            d.id.eq_ignore_ascii_case(name) || d.th == name || d.en.eq_ignore_ascii_case(name)
        })
    }

    /// The name of a division, or of the integrity officer.
    #[must_use]
    pub fn division_name(&self, id: &str, lang: Lang) -> String {
        if id == INTEGRITY_DIVISION {
            return match lang {
                Lang::Th => self.integrity.th.clone(),
                Lang::En => self.integrity.en.clone(),
            };
        }
        self.division(id)
            .map_or_else(|| id.to_owned(), |d| d.name(lang).to_owned())
    }

    #[must_use]
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn categories_for(&self, kind: CaseKind) -> impl Iterator<Item = &Category> {
        self.categories
            .iter()
            .filter(move |c| c.kinds.contains(&kind))
    }

    /// The destinations a case filed under `division` is forwarded to.
    #[must_use]
    pub fn destinations_of(&self, division: &str) -> Vec<&Destination> {
        let ids = if division == INTEGRITY_DIVISION {
            &self.integrity.destinations
        } else {
            match self.division(division) {
                Some(d) => &d.destinations,
                None => return Vec::new(),
            }
        };
        ids.iter()
            .filter_map(|id| self.destinations.iter().find(|d| &d.id == id))
            .collect()
    }
}

/// Reads a secret from the environment; `None` when unset or empty.
#[must_use]
pub fn secret_from_env(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .map(SecretString::from)
}
