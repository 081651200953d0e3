//! The configuration file as serde reads it, before any default or check.
//!
//! Optional keys are `Option` so that [`super::resolve`] fills defaults in one
//! place. Values that a semantic check may reject are wrapped in
//! [`Spanned`] so that the diagnostic can point at them. Choices such as
//! `mode` are read as strings and checked later, so that a wrong choice is
//! reported together with the other semantic errors instead of stopping the
//! parse. Unknown keys are errors everywhere.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A list whose position and whose items' positions are both kept.
pub(super) type SpannedList = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub syslog: RawSyslog,
    #[serde(default)]
    pub pusher: RawPusher,
    #[serde(default)]
    pub messages: RawMessages,
    #[serde(default)]
    pub groups: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default, rename = "person")]
    pub people: Vec<RawPerson>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawRule>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    pub socket: Option<Spanned<String>>,
    pub repo_roots: Option<SpannedList>,
    pub allowed_uids: Option<Vec<u32>>,
    pub socket_mode: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub max_request_bytes: Option<Spanned<usize>>,
    pub max_refs: Option<Spanned<usize>>,
    pub max_commits: Option<Spanned<usize>>,
    pub max_message_bytes: Option<Spanned<usize>>,
    pub max_concurrent_checks: Option<usize>,
    pub max_queued_checks: Option<usize>,
    pub deadline_ms: Option<Spanned<u64>>,
    pub idle_timeout_ms: Option<Spanned<u64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSyslog {
    pub socket: Option<Spanned<String>>,
    pub facility: Option<Spanned<String>>,
    pub ident: Option<Spanned<String>>,
    pub on_failure: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPusher {
    pub env: Option<SpannedList>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMessages {
    pub style: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub id: Spanned<String>,
    #[serde(default)]
    pub emails: Vec<Spanned<String>>,
    #[serde(default)]
    pub usernames: Vec<Spanned<String>>,
    #[serde(default)]
    pub bot: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Spanned<String>,
    pub refs: SpannedList,
    pub repos: Option<SpannedList>,
    pub min_reviewers: Option<Spanned<usize>>,
    pub review_trailers: Option<SpannedList>,
    pub coauthor_trailers: Option<SpannedList>,
    pub unknown_reviewers: Option<Spanned<String>>,
    #[serde(default)]
    pub reviewer_may_be_pusher: bool,
    #[serde(default)]
    pub allow_force_push: bool,
    #[serde(default)]
    pub allow_delete: bool,
    pub scope: Option<Spanned<String>>,
    pub reviewer_groups: Option<SpannedList>,
    #[serde(default)]
    pub require: Vec<RawQuota>,
    pub pusher_groups: Option<SpannedList>,
    pub pusher_may_be_author: Option<bool>,
    #[serde(default)]
    pub break_glass_groups: Vec<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub paths: Vec<RawPathRule>,
    #[serde(default)]
    pub target_reachable_from: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuota {
    pub group: Spanned<String>,
    pub count: Spanned<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPathRule {
    pub patterns: SpannedList,
    pub require: Spanned<Vec<RawQuota>>,
}
