//! Commit message trailers, found exactly as git 2.47 finds them.
//!
//! Interface contract (the implementation replaces this stub):
//!
//! ```ignore
//! pub struct Trailer { pub key: String, pub value: String }
//! /// Returns the trailers of the message's trailer block, unfolded, in order,
//! /// with git's trimming; the same list as
//! /// `git log --format='%(trailers:unfold)'` shows for the message.
//! pub fn parse(message: &str) -> Vec<Trailer>;
//! /// Returns `key: value` lines outside the trailer block whose key is one
//! /// of `keys` (case-insensitive), to explain why they did not count.
//! pub fn stray(message: &str, keys: &[String]) -> Vec<Trailer>;
//! ```
