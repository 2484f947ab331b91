//! tambon: the community chat bot of a Thai Subdistrict Administrative Organization
//! (อบต.). Residents ask about the office's ITA improvement measures, file suggestions and
//! complaints (corruption complaints may be anonymous) and follow them by code.
//!
//! # Layout
//!
//! - `config`: settings from `config/tambon.toml`; secrets only from the environment.
//! - `domain`: the shared nouns: `ChatKey`, `Lang`, `Case` and its code and receipt.
//! - `kb`: the improvement plan (`config/measures.toml`) and finding its items from a
//!   resident's words.
//! - `engine`: the conversation, platform-free and without I/O: state + `Inbound` →
//!   replies + a change to commit.
//! - `inbox`: runs each event exactly once through the engine and commits it durably.
//! - `store`: the only module that touches sled.
//! - `delivery`: the outbox dispatcher that forwards cases to divisions, with retries.
//! - `channels`: adapters that know a platform's wire format (web chat, terminal).
//! - `dashboard`: the staff web console under `/staff`.
//! - `calendar`: Thai working days and the deadlines of cases.
//! - `fanout`: updates to subscribers, in resumable steps through the outbox.
//! - `reminders`: the daily list of overdue cases sent to each division's chat.
//! - `report`: the yearly statistics the office publishes for the ITA.
//! - `http`, `startup`: the router and the application's lifecycle.
//! - `hashing`: Argon2id with its memory mapped for each hash and given back after.
//! - `limits`: rate limits (token buckets) for the web chat.
//! - `locales`, `thai`, `telemetry`: texts, Thai-aware helpers, logging.

pub mod allocator;
pub mod calendar;
pub mod channels;
pub mod config;
pub mod dashboard;
pub mod delivery;
pub mod domain;
pub mod engine;
pub mod fanout;
pub mod faults;
pub mod hashing;
pub mod health;
pub mod http;
pub mod inbox;
pub mod kb;
pub mod limits;
pub mod locales;
pub mod reminders;
pub mod report;
pub mod resident;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod thai;
