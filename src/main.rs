//! The `tambon` command: serve, chat in the terminal, inspect cases and the knowledge base.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use tambon::config::{Secrets, Settings};
use tambon::domain::case::CaseCode;
use tambon::domain::Lang;
use tambon::startup::{self, Application, Core};
use tambon::store::{DeliveryState, Store};

#[derive(Parser)]
#[command(
    name = "tambon",
    version,
    about = "Community chat bot of a Thai Subdistrict Administrative Organization"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "TAMBON_CONFIG",
        default_value = "config/tambon.toml"
    )]
    config: PathBuf,
    /// Where the store lives; overrides `server.data_dir` of the configuration.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web chat and the webhooks.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080; overrides `server.listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Chat with tambon in this terminal, as a resident.
    Chat {
        /// Who you are in this chat (your cases are filed under this name).
        #[arg(long, default_value = "local")]
        user: String,
    },
    /// Inspect cases and their deliveries.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// Show or validate the knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Operate the LINE Official Account (needs LINE_CHANNEL_ACCESS_TOKEN).
    Line {
        #[command(subcommand)]
        command: LineCommand,
    },
    /// People and roles: enrolment codes, revocation.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit log of views of corruption complaints and of case changes.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Updates sent to subscribers: who, when, to whom, how many delivered.
    Updates {
        #[command(subcommand)]
        command: Option<UpdatesCommand>,
    },
    /// The yearly statistics the office publishes for the ITA (OIT).
    Report {
        /// The fiscal year in the Buddhist era (1 Oct to 30 Sep), e.g. 2569; the
        /// current one if absent.
        #[arg(long)]
        year: Option<u32>,
        /// text, csv (UTF-8 with BOM, for Excel) or html (printable).
        #[arg(long, default_value = "text")]
        format: String,
        /// Write the figures in Thai digits (๐-๙).
        #[arg(long)]
        thai_digits: bool,
        /// th or en.
        #[arg(long, default_value = "th")]
        lang: String,
    },
    /// Operate the Telegram bot.
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make a one-time enrolment code: the person sends it in any chat to take the role.
    Enrol {
        /// staff, village_head, integrity_officer or admin.
        #[arg(long)]
        role: String,
        /// For staff: the division id.
        #[arg(long)]
        division: Option<String>,
        /// For a village head: the village number (หมู่ที่).
        #[arg(long)]
        village: Option<u32>,
        /// How long the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// Every chat identity with a role (dashboard logins included).
    Users,
    /// Dashboard logins.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Take a chat identity's role away, at once.
    Revoke {
        /// line, messenger, telegram, web, terminal or dashboard (a login).
        #[arg(long)]
        channel: String,
        /// The platform's user (or chat) id, as `tambon admin users` shows it.
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
enum UpdatesCommand {
    /// Every update, with its counts (the default).
    List,
    /// Withdraw an update that has not gone out yet.
    Withdraw { id: u64 },
    /// Send a scheduled update now, without waiting for the rest of its hold.
    SendNow { id: u64 },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create (or reset) a dashboard login. The password is read from standard input
    /// (one line), so that it stays out of the shell history and the process list.
    Add {
        /// The login name: lower-case letters, digits, '.', '-' or '_'.
        name: String,
        /// staff, integrity_officer or admin.
        #[arg(long)]
        role: String,
        /// For staff: the division id.
        #[arg(long)]
        division: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exits non-zero if an entry was removed or changed.
    Verify,
    /// Print the log.
    Show,
}

#[derive(Subcommand)]
enum TelegramCommand {
    /// Tell Telegram to post updates to URL (…/webhook/telegram), with the secret token
    /// of TELEGRAM_WEBHOOK_SECRET (needs TELEGRAM_BOT_TOKEN).
    SetWebhook { url: String },
    /// The Telegram groups the bot has joined, and the division each is bound to.
    Groups,
    /// Bind a group (its chat id) to a division (or `integrity`).
    Bind { group_id: String, division: String },
    /// Stop sending a division's cases to a group.
    Unbind { group_id: String },
}

#[derive(Subcommand)]
enum LineCommand {
    /// Create the rich menu of config/line-rich-menu.json with its image, for everyone.
    RichMenu,
    /// Check the access token and the webhook settings.
    Check,
    /// The LINE groups the bot has joined, and the division each is bound to.
    Groups,
    /// Bind a group to a division (or `integrity`): it receives that division's cases.
    Bind { group_id: String, division: String },
    /// Stop sending a division's cases to a group.
    Unbind { group_id: String },
}

#[derive(Subcommand)]
enum CasesCommand {
    /// One line per case.
    List,
    /// A case in full, by its code.
    Show { code: String },
    /// Forwarding deliveries: pending, delivered and dead.
    Deliveries {
        /// Only the dead ones.
        #[arg(long)]
        dead: bool,
    },
    /// Put a dead delivery back in the queue.
    Retry { delivery_id: u64 },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Print the measures with their divisions and status.
    Show {
        #[arg(long, default_value = "th")]
        lang: String,
    },
    /// Check measures.toml and vocabulary.toml; exit non-zero with the line of an error.
    Validate,
    /// Answer a question as a resident would be answered: for tuning the vocabulary.
    Ask {
        question: String,
        /// Also print the concepts found and how each item scored.
        #[arg(long)]
        explain: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(tambon::allocator::BLOCKING_THREAD_KEEP_ALIVE)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tambon::telemetry::init();
    let mut settings = Settings::load(&cli.config)?;
    if let Some(data_dir) = cli.data_dir {
        settings.server.data_dir = data_dir;
    }
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            let app = Application::build(settings, &Secrets::from_env()).await?;
            app.run_until_stopped(startup::shutdown_signal()).await
        }
        Command::Chat { user } => {
            let core = Core::build(settings, &Secrets::default())?;
            let background = core.spawn_background();
            let result = tambon::channels::terminal::run(Arc::clone(&core.inbox), user).await;
            background.abort();
            // Forward what this chat filed before leaving; whatever fails stays queued.
            let drained = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                core.dispatcher.send_due(),
            )
            .await;
            if !matches!(drained, Ok(Ok(_))) {
                eprintln!("some forwards are still queued; `tambon serve` will send them");
            }
            core.store.sync().await?;
            result
        }
        Command::Cases { command } => {
            let store = Store::open(&settings.server.data_dir)?;
            cases(&store, command)
        }
        Command::Kb { command } => kb(&settings, command),
        Command::Line { command } => line(&settings, command).await,
        Command::Telegram { command } => telegram(&settings, command).await,
        Command::Admin { command } => admin(&settings, command),
        Command::Audit { command } => audit(&settings, command),
        Command::Updates { command } => updates(&settings, command.unwrap_or(UpdatesCommand::List)),
        Command::Report {
            year,
            format,
            thai_digits,
            lang,
        } => report(&settings, year, &format, thai_digits, &lang),
    }
}

/// A role as the admin commands name it.
fn parse_role(
    settings: &Settings,
    role: &str,
    division: Option<String>,
    village: Option<u32>,
) -> anyhow::Result<tambon::domain::role::Role> {
    use tambon::domain::role::Role;
    Ok(match (role, division, village) {
        ("staff", Some(division), _) => {
            anyhow::ensure!(
                settings.division(&division).is_some(),
                "unknown division `{division}`"
            );
            Role::Staff { division }
        }
        ("staff", None, _) => anyhow::bail!("--role staff needs --division"),
        ("village_head", _, Some(village)) => Role::VillageHead { village },
        ("village_head", _, None) => anyhow::bail!("--role village_head needs --village"),
        ("integrity_officer", _, _) => Role::IntegrityOfficer,
        ("admin", _, _) => Role::Admin,
        (other, _, _) => anyhow::bail!("unknown role `{other}`"),
    })
}

fn admin(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    use tambon::domain::{Channel, ChatKey};
    let store = Store::open(&settings.server.data_dir)?;
    match command {
        AdminCommand::Enrol {
            role,
            division,
            village,
            hours,
        } => {
            let role = parse_role(settings, &role, division, village)?;
            let expires_at = chrono::Utc::now() + chrono::Duration::hours(hours);
            let code = store.create_enrol_code(&role, expires_at)?;
            store.sync_blocking()?;
            println!(
                "{code}  ({}, valid until {})",
                role.label(),
                tambon::thai::format_datetime(expires_at, Lang::Th)
            );
        }
        AdminCommand::User {
            command:
                UserCommand::Add {
                    name,
                    role,
                    division,
                },
        } => {
            let role = parse_role(settings, &role, division, None)?;
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() {
                eprint!("password for {name}: ");
            }
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            tambon::dashboard::add_user(&store, &name, password, &role)?;
            println!("dashboard login `{name}` ({}) ready", role.label());
        }
        AdminCommand::Users => {
            for (chat, role) in store.roles()? {
                println!("{:<10} {:<36} {}", chat.channel, chat.user, role.label());
            }
        }
        AdminCommand::Revoke { channel, user } => {
            let channel = Channel::parse(&channel)
                .ok_or_else(|| anyhow::anyhow!("unknown channel `{channel}`"))?;
            anyhow::ensure!(
                store.revoke_role(&ChatKey::new(channel, user))?,
                "that chat identity has no role"
            );
            store.sync_blocking()?;
            println!("role revoked");
        }
    }
    Ok(())
}

fn updates(settings: &Settings, command: UpdatesCommand) -> anyhow::Result<()> {
    let store = Store::open(&settings.server.data_dir)?;
    match command {
        UpdatesCommand::List => {
            let all_counts = tambon::fanout::delivery_counts(&store)?;
            for update in store.updates()? {
                let counts = all_counts.get(&update.id).cloned().unwrap_or_default();
                println!(
                    "#{} {} {} by {} to {} · {} · recipients {} delivered {} failed {} not deliverable {}\n    {}",
                    update.id,
                    tambon::thai::format_datetime(update.created_at, Lang::Th),
                    update.topic.as_str(),
                    update.author_label,
                    if update.villages.is_empty() {
                        "all villages".to_owned()
                    } else {
                        format!("villages {:?}", update.villages)
                    },
                    tambon::fanout::state_label(&update.state),
                    update.n_recipients,
                    counts.delivered,
                    counts.dead,
                    update.n_undeliverable,
                    update.text.replace('\n', " "),
                );
            }
        }
        UpdatesCommand::SendNow { id } => {
            anyhow::ensure!(
                store.release_update(id, chrono::Utc::now())?,
                "update #{id} is not waiting to go out"
            );
            store.sync_blocking()?;
            println!("update #{id} goes out at the next fan-out step");
        }
        UpdatesCommand::Withdraw { id } => {
            anyhow::ensure!(
                store.withdraw_update(id, "admin (CLI)", chrono::Utc::now())?,
                "update #{id} is not waiting to go out (unknown, already sending or sent)"
            );
            store.sync_blocking()?;
            println!("update #{id} withdrawn");
        }
    }
    Ok(())
}

fn report(
    settings: &Settings,
    year: Option<u32>,
    format: &str,
    thai_digits: bool,
    lang: &str,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let year = year.unwrap_or_else(|| tambon::report::current_fiscal_year_be(now));
    anyhow::ensure!(
        (2500..=2700).contains(&year),
        "--year is a Buddhist-era year such as 2569"
    );
    let lang = if lang == "en" { Lang::En } else { Lang::Th };
    let store = Store::open(&settings.server.data_dir)?;
    let mut failure = None;
    let cases = store
        .all_cases()
        .map_while(|case| case.map_err(|error| failure = Some(error)).ok());
    let report = tambon::report::year_report(cases, year, now);
    if let Some(error) = failure {
        return Err(error.into());
    }
    let out = match format {
        "text" => tambon::report::to_text(&report, settings, lang),
        "csv" => tambon::report::to_csv(&report, settings, lang, thai_digits),
        "html" => tambon::report::to_html(&report, settings, lang, thai_digits),
        other => anyhow::bail!("unknown --format `{other}`: text, csv or html"),
    };
    print!("{out}");
    Ok(())
}

fn audit(settings: &Settings, command: AuditCommand) -> anyhow::Result<()> {
    let store = Store::open(&settings.server.data_dir)?;
    match command {
        AuditCommand::Verify => {
            let report = store.verify_audit()?;
            match report.broken {
                None => println!("ok: {} entries, the chain is intact", report.n_entries),
                Some((seq, reason)) => {
                    anyhow::bail!("the audit log is broken at entry {seq}: {reason}")
                }
            }
        }
        AuditCommand::Show => {
            for entry in store.audit_entries()? {
                println!(
                    "{:>5} {} {:<40} {:<7} {:<14} {}",
                    entry.seq,
                    tambon::thai::format_datetime(entry.at, Lang::Th),
                    entry.actor,
                    entry.action,
                    entry.case_code,
                    entry.detail
                );
            }
        }
    }
    Ok(())
}

async fn telegram(settings: &Settings, command: TelegramCommand) -> anyhow::Result<()> {
    use secrecy::ExposeSecret as _;
    use tambon::domain::Channel;
    use teloxide::payloads::SetWebhookSetters as _;
    use teloxide::requests::{Request as _, Requester as _};
    match command {
        TelegramCommand::SetWebhook { url } => {
            let token = tambon::config::secret_from_env("TELEGRAM_BOT_TOKEN")
                .ok_or_else(|| anyhow::anyhow!("TELEGRAM_BOT_TOKEN is not set"))?;
            let secret =
                tambon::config::secret_from_env("TELEGRAM_WEBHOOK_SECRET").ok_or_else(|| {
                    anyhow::anyhow!("TELEGRAM_WEBHOOK_SECRET is not set: updates would be refused")
                })?;
            let bot = teloxide::Bot::new(token.expose_secret())
                .set_api_url(settings.telegram.api_url.parse()?);
            bot.set_webhook(url.parse()?)
                .secret_token(secret.expose_secret().to_owned())
                .send()
                .await
                .map_err(|error| {
                    anyhow::anyhow!(tambon::channels::telegram::sender::describe(&error))
                })?;
            println!("Telegram now posts updates to {url}");
        }
        TelegramCommand::Groups => groups(settings, Channel::Telegram, None)?,
        TelegramCommand::Bind { group_id, division } => {
            groups(
                settings,
                Channel::Telegram,
                Some((group_id, Some(division))),
            )?;
        }
        TelegramCommand::Unbind { group_id } => {
            groups(settings, Channel::Telegram, Some((group_id, None)))?
        }
    }
    Ok(())
}

/// Lists a channel's groups, or binds (`Some(division)`) or unbinds (`None`) one.
fn groups(
    settings: &Settings,
    channel: tambon::domain::Channel,
    change: Option<(String, Option<String>)>,
) -> anyhow::Result<()> {
    let store = Store::open(&settings.server.data_dir)?;
    let Some((group_id, division)) = change else {
        for group in store.groups()?.into_iter().filter(|g| g.channel == channel) {
            println!(
                "{}  joined {}{}  → {}",
                group.id,
                tambon::thai::format_datetime(group.joined_at, Lang::Th),
                if group.left_at.is_some() {
                    " (left)"
                } else {
                    ""
                },
                group.division.as_deref().unwrap_or("not bound")
            );
        }
        return Ok(());
    };
    if let Some(division) = &division {
        anyhow::ensure!(
            division == tambon::config::INTEGRITY_DIVISION || settings.division(division).is_some(),
            "unknown division `{division}`"
        );
    }
    anyhow::ensure!(
        store.bind_group(channel, &group_id, division.as_deref())?,
        "the bot has not joined group {group_id}: add it to the group first"
    );
    store.sync_blocking()?;
    match division {
        Some(division) => println!("group {group_id} now receives the cases of {division}"),
        None => println!("group {group_id} is no longer bound"),
    }
    Ok(())
}

async fn line(settings: &Settings, command: LineCommand) -> anyhow::Result<()> {
    use tambon::channels::line::{ops, Client};
    use tambon::domain::Channel;
    let client = || -> anyhow::Result<Client> {
        let token = tambon::config::secret_from_env("LINE_CHANNEL_ACCESS_TOKEN")
            .ok_or_else(|| anyhow::anyhow!("LINE_CHANNEL_ACCESS_TOKEN is not set"))?;
        Client::new(&settings.line, token, settings.delivery.timeout())
    };
    match command {
        LineCommand::RichMenu => {
            let id = ops::rich_menu(&client()?, &settings.line).await?;
            println!("rich menu {id} created and set as everyone's default");
        }
        LineCommand::Check => print!("{}", ops::check(&client()?).await?),
        LineCommand::Groups => groups(settings, Channel::Line, None)?,
        LineCommand::Bind { group_id, division } => {
            groups(settings, Channel::Line, Some((group_id, Some(division))))?
        }
        LineCommand::Unbind { group_id } => {
            groups(settings, Channel::Line, Some((group_id, None)))?
        }
    }
    Ok(())
}

fn cases(store: &Store, command: CasesCommand) -> anyhow::Result<()> {
    match command {
        CasesCommand::List => {
            println!(
                "{:<14} {:<11} {:<12} {:<12} {:<12} filed (Bangkok)",
                "code", "kind", "category", "division", "status"
            );
            for case in store.all_cases() {
                let case = case?;
                println!(
                    "{:<14} {:<11} {:<12} {:<12} {:<12} {}",
                    case.code,
                    case.kind.as_str(),
                    case.category,
                    case.division,
                    case.status.as_str(),
                    tambon::thai::format_datetime(case.created_at, Lang::Th)
                );
            }
            println!("{} case(s)", store.n_cases());
        }
        CasesCommand::Show { code } => {
            let parsed = CaseCode::parse(&code)
                .ok_or_else(|| anyhow::anyhow!("`{code}` is not a case code"))?;
            let case = store
                .case_by_code(&parsed)?
                .ok_or_else(|| anyhow::anyhow!("no case {parsed}"))?;
            println!("{}", serde_json::to_string_pretty(&case)?);
        }
        CasesCommand::Deliveries { dead } => {
            println!(
                "{:<6} {:<20} {:<10} {:<8} {:<14} last error",
                "id", "destination", "state", "tries", "case"
            );
            for delivery in store.all_deliveries() {
                let delivery = delivery?;
                if dead && delivery.state != DeliveryState::Dead {
                    continue;
                }
                let state = match delivery.state {
                    DeliveryState::Pending => "pending",
                    DeliveryState::Delivered => "delivered",
                    DeliveryState::Dead => "DEAD",
                };
                println!(
                    "{:<6} {:<20} {:<10} {:<8} {:<14} {}",
                    delivery.id,
                    delivery.route.to_string(),
                    state,
                    delivery.attempts,
                    delivery.body.json()["case"]["code"].as_str().unwrap_or("-"),
                    delivery.last_error.as_deref().unwrap_or("")
                );
            }
        }
        CasesCommand::Retry { delivery_id } => {
            if store.retry_delivery(delivery_id, chrono::Utc::now())? {
                store.sync_blocking()?;
                println!("delivery {delivery_id} is queued again");
            } else {
                anyhow::bail!("no dead delivery {delivery_id}");
            }
        }
    }
    Ok(())
}

fn kb(settings: &Settings, command: KbCommand) -> anyhow::Result<()> {
    let settings = Arc::new(settings.clone());
    let engine = startup::load_engine(&settings)?;
    match command {
        KbCommand::Validate => {
            let kb = engine.kb();
            let n_measures: usize = kb.items.iter().map(|i| i.measures.len()).sum();
            println!(
                "ok: {} assessments, {} items, {} measures",
                kb.assessments.len(),
                kb.items.len(),
                n_measures
            );
        }
        KbCommand::Ask { question, explain } => {
            if explain {
                println!("{}", engine.explain_question(&question));
            }
            let lang = tambon::thai::detect_lang(&question).unwrap_or_default();
            for reply in engine.answer_question(lang, &question) {
                match reply {
                    tambon::engine::Outbound::Card(card) => {
                        println!("== {} ==", card.title);
                        for line in card.lines {
                            println!("{line}");
                        }
                    }
                    tambon::engine::Outbound::Text { text }
                    | tambon::engine::Outbound::QuickReplies { text, .. } => {
                        println!("{text}");
                    }
                }
            }
        }
        KbCommand::Show { lang } => {
            let lang = if lang == "en" { Lang::En } else { Lang::Th };
            let kb = engine.kb();
            for assessment in &kb.assessments {
                println!(
                    "{} — {} ({:.2})",
                    assessment.acronym(),
                    assessment.indicator(lang),
                    assessment.score
                );
                for item in kb.items.iter().filter(|i| i.assessment == assessment.id) {
                    println!("  [{}] {:?}", item.id, item.status);
                    for weakness in &item.weaknesses {
                        println!("    ! {}", weakness.get(lang));
                    }
                    for measure in &item.measures {
                        println!("    • {}", measure.name.get(lang));
                    }
                    let divisions: Vec<String> = item
                        .divisions
                        .iter()
                        .map(|d| settings.division_name(d, lang))
                        .collect();
                    println!("    → {}", divisions.join(", "));
                }
            }
        }
    }
    Ok(())
}
