//! Channel adapters: the only code that knows a platform's wire format. Each turns its
//! platform's events into `engine::Inbound` and renders `engine::Outbound` its own way.

pub mod line;
pub mod media;
pub mod messenger;
pub mod queue;
pub mod recorder;
pub mod telegram;
pub mod terminal;
pub mod web;
pub mod webhook;
