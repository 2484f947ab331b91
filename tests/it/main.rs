//! End-to-end tests: the real server on a random port, driven through its HTTP API, with
//! local fakes for everything outside. One integration binary, one module per area.

mod architecture;
mod binary;
mod conversations;
mod crash;
mod dashboard;
mod dashboard_browser;
mod gates;
mod helpers;
mod line;
mod line_fake;
mod linking;
mod logs;
mod messenger;
mod messenger_fake;
mod openapi;
mod privacy;
mod properties;
mod staff;
mod strategies;
mod telegram;
mod telegram_fake;
mod updates;
mod web;
mod webdriver;
