//! Building the application from settings, and running it until it is told to stop.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::channels::line::Line;
use crate::channels::messenger::Messenger;
use crate::channels::queue::{self, Converter};
use crate::channels::telegram::Telegram;
use crate::config::{Secrets, Settings, TelegramMode};
use crate::delivery::ChannelSender;
use crate::delivery::Dispatcher;
use crate::domain::Channel;
use crate::engine::intent::{Classifier, Definitions};
use crate::engine::{Engine, Knowledge};
use crate::http::{build_router, AppState};
use crate::inbox::Inbox;
use crate::kb::glossary::Glossary;
use crate::kb::{Index, KnowledgeBase, Sources, Vocabulary};
use crate::locales::Locales;
use crate::store::Store;
use crate::thai::words::Segmenter;

/// How long a processed event id is remembered for dedupe.
const OUTCOME_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The parts every front end (server, terminal chat) shares.
pub struct Core {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub inbox: Arc<Inbox>,
    pub dispatcher: Dispatcher,
    /// The LINE channel, when its secrets are set and it is enabled.
    pub line: Option<Arc<Line>>,
    pub messenger: Option<Arc<Messenger>>,
    pub telegram: Option<Arc<Telegram>>,
    /// The holidays deadlines skip.
    pub holidays: Arc<crate::calendar::Holidays>,
    /// Wakes the dispatcher when something was put in the outbox.
    dispatcher_wake: Arc<Notify>,
    /// The workers' beats and readiness, for `/healthz` and `/readyz`.
    pub health: Arc<crate::health::Health>,
}

impl Core {
    /// Opens the store and loads the knowledge base and texts.
    pub fn build(settings: Settings, secrets: &Secrets) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let engine = load_engine(&settings)?;
        let holidays = Arc::new(crate::calendar::Holidays::load(
            &settings.deadlines.holidays,
        )?);
        if holidays
            .last_listed()
            .is_none_or(|last| last < crate::calendar::bangkok_date(chrono::Utc::now()))
        {
            tracing::warn!("the holiday list has no date ahead: deadlines count every weekday; extend config/holidays.toml");
        }
        let data_dir = &settings.server.data_dir;
        let store = Store::open(data_dir).with_context(|| {
            format!(
                "cannot open the data directory {} (is another tambon process using it?)",
                data_dir.display()
            )
        })?;
        // Progress staff reported since the plan was written shows in every answer.
        for (item_id, progress) in store.latest_progress()? {
            engine.progress().set(&item_id, progress);
        }
        let wake = Arc::new(Notify::new());
        let inbox = Arc::new(Inbox::new(
            engine.clone(),
            store.clone(),
            Arc::clone(&settings),
            Arc::clone(&wake),
        )?);
        let line = match (&secrets.line, settings.line.enabled) {
            (Some(line_secrets), true) => Some(Arc::new(Line::new(
                Arc::clone(&settings),
                line_secrets,
                store.clone(),
                engine.clone(),
            )?)),
            _ => None,
        };
        let messenger = match (&secrets.messenger, settings.messenger.enabled) {
            (Some(messenger_secrets), true) => Some(Arc::new(Messenger::new(
                Arc::clone(&settings),
                messenger_secrets,
                store.clone(),
            )?)),
            _ => None,
        };
        let telegram = match (&secrets.telegram, settings.telegram.enabled) {
            (Some(telegram_secrets), true) => {
                if settings.telegram.mode == TelegramMode::Webhook
                    && telegram_secrets.webhook_secret.is_none()
                {
                    tracing::warn!("Telegram webhook mode without TELEGRAM_WEBHOOK_SECRET: every update will be refused");
                }
                Some(Arc::new(Telegram::new(
                    Arc::clone(&settings),
                    telegram_secrets,
                    store.clone(),
                )?))
            }
            _ => None,
        };
        let mut senders: HashMap<Channel, Arc<dyn ChannelSender>> = HashMap::new();
        if let Some(telegram) = &telegram {
            senders.insert(
                Channel::Telegram,
                Arc::new(crate::channels::telegram::sender::Sender {
                    bot: telegram.bot.clone(),
                    store: store.clone(),
                    pacer: Arc::new(crate::channels::telegram::sender::Pacer::new(
                        settings.telegram.max_messages_per_second,
                    )),
                }),
            );
        }
        if let Some(line) = &line {
            senders.insert(
                Channel::Line,
                Arc::new(crate::channels::line::sender::Sender {
                    client: line.client.clone(),
                    store: store.clone(),
                }),
            );
        }
        if let Some(messenger) = &messenger {
            senders.insert(Channel::Messenger, Arc::new(messenger.client.clone()));
        }
        let dispatcher_wake = Arc::clone(&wake);
        let health = Arc::new(crate::health::Health::default());
        let dispatcher = Dispatcher::new(store.clone(), Arc::clone(&settings), wake, senders)?
            .with_health(Arc::clone(&health));
        Ok(Self {
            settings,
            store,
            inbox,
            dispatcher,
            line,
            messenger,
            telegram,
            holidays,
            dispatcher_wake,
            health,
        })
    }

    fn dispatcher_wake(&self) -> Arc<Notify> {
        Arc::clone(&self.dispatcher_wake)
    }

    /// Runs the outbox dispatcher and the dedupe pruning in the background.
    pub fn spawn_background(&self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        let dispatcher = self.dispatcher.clone();
        let store = self.store.clone();
        let mut workers = tokio::task::JoinSet::new();
        let channels: Vec<(Channel, Arc<dyn Converter>, Arc<Notify>)> = [
            self.line.as_ref().map(|c| {
                (
                    Channel::Line,
                    Arc::clone(c) as Arc<dyn Converter>,
                    Arc::clone(&c.wake),
                )
            }),
            self.messenger.as_ref().map(|c| {
                (
                    Channel::Messenger,
                    Arc::clone(c) as Arc<dyn Converter>,
                    Arc::clone(&c.wake),
                )
            }),
            self.telegram.as_ref().map(|c| {
                (
                    Channel::Telegram,
                    Arc::clone(c) as Arc<dyn Converter>,
                    Arc::clone(&c.wake),
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (channel, converter, wake) in channels {
            workers.spawn(queue::run(
                channel,
                self.store.clone(),
                Arc::clone(&self.inbox),
                converter,
                wake,
                self.settings.server.platform_messages_per_person_per_minute,
                Arc::clone(&self.health),
            ));
        }
        workers.spawn({
            let fanout = crate::fanout::run(
                self.store.clone(),
                Arc::clone(&self.settings),
                self.dispatcher_wake(),
            );
            async move {
                fanout.await;
                Ok(())
            }
        });
        workers.spawn({
            let reminders = crate::reminders::run(
                self.store.clone(),
                Arc::clone(&self.settings),
                Arc::clone(&self.holidays),
            );
            async move {
                reminders.await;
                Ok(())
            }
        });
        if let Some(telegram) = &self.telegram {
            if self.settings.telegram.mode == TelegramMode::Polling {
                workers.spawn(Arc::clone(telegram).poll());
            }
        }
        tokio::spawn(async move {
            let prune = async {
                let mut every = tokio::time::interval(PRUNE_EVERY);
                loop {
                    every.tick().await;
                    let store = store.clone();
                    let max_age = i64::try_from(OUTCOME_RETENTION.as_millis()).unwrap_or(i64::MAX);
                    let pruned = tokio::task::spawn_blocking(move || {
                        let n_sessions = store.prune_sessions(chrono::Utc::now())?;
                        Ok::<_, crate::store::Error>(store.prune_outcomes(max_age)? + n_sessions)
                    });
                    match pruned.await {
                        Ok(Ok(n_removed)) => {
                            tracing::debug!(n_removed, "pruned old event ids and sessions");
                        }
                        Ok(Err(error)) => tracing::warn!(error = ?error, "cannot prune event ids"),
                        Err(error) => tracing::warn!(%error, "prune task failed"),
                    }
                }
            };
            let channel_workers = async {
                match workers.join_next().await {
                    Some(Ok(result)) => result.context("a channel worker stopped"),
                    Some(Err(error)) => {
                        Err(anyhow::Error::from(error).context("a channel worker panicked"))
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = dispatcher.run() => result.context("the dispatcher stopped"),
                result = channel_workers => result,
                () = prune => Ok(()),
            }
        })
    }
}

/// Loads the knowledge base, the vocabulary, the glossary, the intents and the texts into
/// an engine. Every file is read and checked here, so a mistake stops start-up; what needs
/// the Thai segmenter (cutting the plan into words) is built on a thread of its own.
pub fn load_engine(settings: &Arc<Settings>) -> anyhow::Result<Engine> {
    let division_ids: Vec<&str> = settings.divisions.iter().map(|d| d.id.as_str()).collect();
    // The engine and the knowledge base do no I/O: their files are read here.
    let paths = &settings.paths;
    let kb = read_config(&paths.measures, "knowledge base", |source| {
        KnowledgeBase::parse(source, &division_ids)
    })?;
    let vocabulary = read_config(&paths.vocabulary, "vocabulary", Vocabulary::parse)?;
    let intents = read_config(&paths.intents, "intents", Definitions::parse)?;
    let glossary = read_config(&paths.glossary, "glossary", Glossary::parse)?;
    let locales = Locales::load(&settings.paths.locales)?;
    let build_settings = Arc::clone(settings);
    Ok(Engine::building(
        Arc::clone(settings),
        move || {
            let knowledge = build_knowledge(&build_settings, kb, &vocabulary, intents, glossary);
            // The word list compiled into the program has been copied and is not read
            // again.
            match crate::resident::hand_back_read_only_data() {
                Ok(bytes) => tracing::debug!(bytes, "read-only data handed back"),
                Err(error) => tracing::warn!(%error, "cannot hand back read-only data"),
            }
            knowledge
        },
        Arc::new(locales),
    ))
}

fn build_knowledge(
    settings: &Settings,
    mut kb: KnowledgeBase,
    vocabulary: &Vocabulary,
    intents: Definitions,
    glossary: Glossary,
) -> Knowledge {
    let spellings: Vec<(String, Vec<String>)> = glossary
        .terms
        .iter()
        .map(|term| (term.id.clone(), term.spellings.clone()))
        .collect();
    // The segmenter knows the plan's terms as words, so that nothing is found inside
    // them ("ไอที" in "โอไอที"); the intents' and categories' terms are found as runs of
    // its words, and a word of its list that holds one is cut around it.
    let mut own_words: Vec<String> = vocabulary.terms().map(str::to_owned).collect();
    for division in &settings.divisions {
        own_words.push(division.th.trim_end_matches('ฯ').to_owned());
    }
    for (_, spelled) in &spellings {
        own_words.extend(spelled.iter().cloned());
    }
    own_words.extend(OWN_WORDS.iter().map(|w| (*w).to_owned()));
    own_words.extend(
        settings
            .office
            .name_th
            .split(|c: char| c.is_whitespace() || c == '.')
            .map(str::to_owned),
    );
    let mut terms: Vec<String> = intents.words().map(str::to_owned).collect();
    for category in &settings.categories {
        terms.extend(category.terms.iter().cloned());
    }
    terms.extend(own_words.iter().cloned());
    let segmenter = Segmenter::with_terms(own_words, terms);
    kb.tidy(&segmenter);
    let divisions: Vec<(&str, &str, &str)> = settings
        .divisions
        .iter()
        .map(|d| (d.id.as_str(), d.th.as_str(), d.en.as_str()))
        .collect();
    let index = Index::build(
        vocabulary,
        Sources {
            kb: &kb,
            divisions: &divisions,
            spellings: &spellings,
            segmenter: segmenter.clone(),
        },
    );
    let classifier = Classifier::new(intents, &settings.categories, segmenter);
    Knowledge {
        kb,
        index,
        glossary,
        classifier,
    }
}

/// Words residents write that the segmenter's list lacks.
const OWN_WORDS: &[&str] = &[
    "อบต",
    "เฟสบุ๊ค",
    "เฟซบุ๊ค",
    "เฟสบุ๊ก",
    "ไลน์",
    "เทเลแกรม",
    "บ้านเพชร",
    "ชำนาญการ",
    "ใช้จ่ายงบประมาณ",
    "แผนการจัดซื้อจัดจ้าง",
];

/// The HTTP server with its background tasks.
pub struct Application {
    listener: TcpListener,
    core: Core,
}

impl Application {
    /// Builds everything and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, secrets: &Secrets) -> anyhow::Result<Self> {
        let listen = settings.server.listen;
        let core = Core::build(settings, secrets)?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        Ok(Self { listener, core })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The store the application serves from: for tests that wait until everything
    /// received has been processed and sent.
    #[must_use]
    pub fn store(&self) -> Store {
        self.core.store.clone()
    }

    /// Serves until `shutdown` completes, then finishes open requests and flushes.
    pub async fn run_until_stopped<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let state = AppState {
            settings: Arc::clone(&self.core.settings),
            inbox: Arc::clone(&self.core.inbox),
            dashboard: Arc::new(crate::dashboard::Dashboard::new(
                Arc::clone(&self.core.holidays),
                &self.core.settings.dashboard,
            )?),
            limits: Arc::new(crate::http::WebLimits::new(&self.core.settings.server)),
            health: Arc::clone(&self.core.health),
        };
        let mut background = self.core.spawn_background();
        tracing::info!(address = %self.listener.local_addr()?, "tambon is serving");
        let mut router = build_router(state);
        if let Some(line) = &self.core.line {
            router = router.merge(crate::channels::line::webhook::routes(Arc::clone(line)));
        }
        if let (Some(telegram), TelegramMode::Webhook) =
            (&self.core.telegram, self.core.settings.telegram.mode)
        {
            router = router.merge(crate::channels::telegram::webhook::routes(Arc::clone(
                telegram,
            )));
        }
        if let Some(messenger) = &self.core.messenger {
            router = router.merge(crate::channels::messenger::webhook::routes(Arc::clone(
                messenger,
            )));
        }
        // From the first shutdown signal on, `/readyz` says so while open requests finish.
        let health = Arc::clone(&self.core.health);
        let shutdown = async move {
            shutdown.await;
            health.set_ready(false);
        };
        self.core.health.set_ready(true);
        // The client's address reaches handlers, for the per-address rate limit.
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown);
        let result = tokio::select! {
            result = server => result.context("the HTTP server failed"),
            result = &mut background => match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error),
                Err(error) => Err(anyhow::Error::from(error).context("a background task panicked")),
            },
        };
        // A delivery cut off here is still pending in the outbox and resumes at the next start.
        background.abort();
        let _ = background.await;
        self.core.store.sync().await?;
        tracing::info!("tambon stopped");
        result
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Resolves the default configuration path: `config/tambon.toml` under the working
/// directory.
#[must_use]
pub fn default_config_path() -> &'static Path {
    Path::new("config/tambon.toml")
}

/// Reads the configuration file `path` (the `what` of an error message) and parses it.
fn read_config<T>(
    path: &std::path::Path,
    what: &str,
    parse: impl FnOnce(&str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context as _;
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    parse(&source).with_context(|| format!("invalid {what} {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_that_cannot_be_read_or_parsed_is_named() {
        let missing = std::path::Path::new("/nonexistent/glossary.toml");
        let error = read_config(missing, "glossary", Glossary::parse).unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.contains("cannot read the glossary /nonexistent/glossary.toml"),
            "{error}"
        );

        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("intents.toml");
        std::fs::write(&broken, "[[intent]]\nid = 3").unwrap();
        let Err(error) = read_config(&broken, "intents", Definitions::parse) else {
            panic!("a broken intents file is refused");
        };
        let error = format!("{error:#}");
        assert!(error.starts_with("invalid intents "), "{error}");
        assert!(error.contains("intents.toml"), "{error}");
    }
}
