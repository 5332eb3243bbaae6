#![doc = include_str!("../README.md")]

mod api;
mod client;
mod error;
pub mod markdown;
mod models;
pub mod webhook;

pub use api::{AccountClient, Download, MAX_ATTACHMENTS};
pub use client::{Client, ClientBuilder};
pub use error::Error;
pub use models::*;
/// The URL type of this crate's API (re-exported from `reqwest`).
pub use reqwest::Url;
