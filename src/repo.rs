//! Read access to a repository during a push, quarantine included.
//!
//! While pre-receive runs, the pushed objects exist only in git's quarantine
//! directory. gix reads none of git's quarantine variables, so [`PushRepo`]
//! builds an object store of its own: a private directory whose
//! `objects/info/alternates` lists the quarantine first, then the
//! repository's object directory and every alternate it names (resolved
//! here, because gix-odb 0.88 resolves relative entries of nested alternates
//! files against the wrong directory). Nothing is ever written into the
//! repository or the quarantine: git would migrate what we wrote.
//!
//! The repository is opened isolated (no environment, no global config) and
//! with `core.useReplaceRefs=false`, so `refs/replace/*` cannot swap the
//! objects that are judged.

use std::collections::HashSet;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;

/// Deepest chain of alternates followed; git stops at the same depth.
const MAX_ALTERNATE_DEPTH: usize = 5;

/// Deepest directory nesting followed when comparing trees. Real trees are
/// far shallower. The limit turns a crafted, deeply nested tree into an
/// error instead of a stack overflow in the daemon.
const MAX_TREE_DEPTH: usize = 4096;

/// Bytes of decoded objects kept per open repository. The walk reads a
/// commit shortly before the policy does, so a small cache suffices; each
/// check in flight uses at most this much.
const OBJECT_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// A failure to read the repository, phrased for the pusher and the log.
#[derive(Debug)]
pub struct RepoError(pub String);

impl fmt::Display for RepoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RepoError {}

fn error(message: impl Into<String>) -> RepoError {
    RepoError(message.into())
}

/// The object a pushed value names once annotated tags are peeled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peeled {
    Commit(ObjectId),
    /// A tree or blob, possibly behind tags; git stores such refs, but they
    /// carry no commits to review.
    Other(ObjectId, gix::object::Kind),
}

/// The facts about one commit that the policy needs.
#[derive(Clone, Debug)]
pub struct CommitData {
    pub id: ObjectId,
    /// The commit's root tree.
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// The author's address as written, decoded to UTF-8.
    pub author_email: String,
    /// The full message (subject first), decoded to UTF-8 as `git log`
    /// would show it, possibly cut at the configured limit.
    pub message: String,
    /// Whether `message` was cut at the limit.
    pub message_truncated: bool,
}

/// A repository opened for judging one push.
pub struct PushRepo {
    repo: gix::Repository,
    /// The commit-graph of the real object directory, if any, for fast hiding.
    graph_dir: Option<PathBuf>,
    /// Keeps the private object directory alive as long as the repository.
    _objects_dir: Option<tempfile::TempDir>,
}

impl PushRepo {
    /// Opens the git directory `git_dir`, with the pushed objects of
    /// `quarantine` in front of the repository's own when given.
    pub fn open(git_dir: &Path, quarantine: Option<&Path>) -> Result<PushRepo, RepoError> {
        let options = gix::open::Options::isolated()
            .with_trust(gix::sec::Trust::Full)
            .open_path_as_is(true)
            .config_overrides(["core.useReplaceRefs=false"]);
        let mut repo = gix::open_opts(git_dir, options).map_err(|err| {
            error(format!(
                "cannot open repository {}: {err}",
                git_dir.display()
            ))
        })?;
        if let Some(storage) = repo.config_snapshot().string("extensions.refStorage")
            && !storage.eq_ignore_ascii_case(b"files")
        {
            return Err(error(format!(
                "repository {} uses ref storage {:?}, which foureyes cannot read",
                git_dir.display(),
                storage.to_str_lossy()
            )));
        }

        let real_objects = repo.objects.store_ref().path().to_path_buf();
        let graph_dir = Some(real_objects.join("info"))
            .filter(|dir| dir.join("commit-graph").exists() || dir.join("commit-graphs").exists());
        let mut objects_dir = None;
        if let Some(quarantine) = quarantine {
            let dir = private_store(quarantine, &real_objects)?;
            let handle =
                gix::odb::at(dir.path().join("objects"), repo.object_hash()).map_err(|err| {
                    error(format!(
                        "cannot open the pushed objects in {}: {err}",
                        quarantine.display()
                    ))
                })?;
            repo.objects = gix::OdbHandle::new(handle, repo.object_hash());
            objects_dir = Some(dir);
        }
        set_caches(&mut repo);
        Ok(PushRepo {
            repo,
            graph_dir,
            _objects_dir: objects_dir,
        })
    }

    pub fn object_hash(&self) -> gix::hash::Kind {
        self.repo.object_hash()
    }

    /// Parses a full hex object id of this repository's hash kind.
    pub fn parse_id(&self, hex: &str) -> Result<ObjectId, RepoError> {
        let expected = self.object_hash().len_in_hex();
        if hex.len() != expected {
            return Err(error(format!(
                "invalid object id {hex:?}: expected {expected} hex digits"
            )));
        }
        ObjectId::from_hex(hex.as_bytes()).map_err(|_| error(format!("invalid object id {hex:?}")))
    }

    /// Peels `id` through annotated tags.
    pub fn peel(&self, id: ObjectId) -> Result<Peeled, RepoError> {
        let object = self
            .repo
            .find_object(id)
            .map_err(|err| error(format!("cannot read object {id}: {err}")))?;
        let object = object
            .peel_tags_to_end()
            .map_err(|err| error(format!("cannot peel tag {id}: {err}")))?;
        match object.kind {
            gix::object::Kind::Commit => Ok(Peeled::Commit(object.id)),
            kind => Ok(Peeled::Other(object.id, kind)),
        }
    }

    /// Returns the name and commit tip of every ref whose name `wanted`
    /// accepts, as the refs stand before the push, sorted by name. Refs that
    /// peel to a tree or blob are skipped, since they hide no commits; any
    /// read error is returned.
    pub fn ref_tips(
        &self,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> Result<Vec<(String, ObjectId)>, RepoError> {
        let platform = self
            .repo
            .references()
            .map_err(|err| error(format!("cannot list refs: {err}")))?;
        let iter = platform
            .all()
            .map_err(|err| error(format!("cannot list refs: {err}")))?;
        let mut tips = Vec::new();
        // Many refs often point to the same commits (release branches,
        // mirrors), so each distinct id is peeled once.
        let mut peeled: std::collections::HashMap<ObjectId, Option<ObjectId>> =
            std::collections::HashMap::new();
        for reference in iter {
            let mut reference =
                reference.map_err(|err| error(format!("cannot read a ref: {err}")))?;
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            if !wanted(&name) {
                continue;
            }
            let id = reference
                .peel_to_id()
                .map_err(|err| error(format!("cannot resolve ref {name}: {err}")))?
                .detach();
            let commit = match peeled.get(&id) {
                Some(commit) => *commit,
                None => {
                    let commit = match self.peel(id)? {
                        Peeled::Commit(commit) => Some(commit),
                        Peeled::Other(..) => None,
                    };
                    peeled.insert(id, commit);
                    commit
                }
            };
            if let Some(commit) = commit {
                tips.push((name, commit));
            }
        }
        tips.sort();
        Ok(tips)
    }

    /// Returns the current value of `refname`, if it exists.
    pub fn ref_value(&self, refname: &str) -> Result<Option<ObjectId>, RepoError> {
        match self.repo.try_find_reference(refname) {
            Ok(Some(mut reference)) => reference
                .peel_to_id()
                .map(|id| Some(id.detach()))
                .map_err(|err| error(format!("cannot resolve ref {refname}: {err}"))),
            Ok(None) => Ok(None),
            Err(err) => Err(error(format!("cannot read ref {refname}: {err}"))),
        }
    }

    /// Returns whether `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool, RepoError> {
        if ancestor == descendant {
            return Ok(true);
        }
        // Walking from `ancestor` while hiding `descendant` yields nothing
        // exactly when every commit of `ancestor` is in `descendant`'s history.
        let none = HashSet::new();
        let mut walk = self
            .walk(ancestor, &[descendant], false, &none)
            .map_err(|err| {
                error(format!(
                    "cannot compare {ancestor} with {descendant}: {err}"
                ))
            })?;
        match walk.next() {
            None => Ok(true),
            Some(Ok(_)) => Ok(false),
            Some(Err(err)) => Err(error(format!(
                "cannot compare {ancestor} with {descendant}: {err}"
            ))),
        }
    }

    /// Walks the commits reachable from `tip` and from none of `hidden`,
    /// newest first; with `first_parent`, only along first parents.
    ///
    /// Commits in `done` are neither returned nor crossed: their ancestry
    /// was already walked (or hidden) by an earlier walk of the same push.
    pub fn walk<'a>(
        &'a self,
        tip: ObjectId,
        hidden: &[ObjectId],
        first_parent: bool,
        done: &'a HashSet<ObjectId>,
    ) -> Result<impl Iterator<Item = Result<ObjectId, RepoError>> + 'a, RepoError> {
        let graph = self
            .graph_dir
            .as_ref()
            .and_then(|dir| gix::commitgraph::Graph::at(dir, self.object_hash(), None).ok());
        let mut platform = self
            .repo
            .rev_walk([tip])
            .with_hidden(hidden.iter().copied())
            .use_commit_graph(graph.is_some())
            .with_commit_graph(graph);
        if first_parent {
            platform = platform.first_parent_only();
        }
        let walk = platform
            .selected(move |id| !done.contains(id))
            .map_err(|err| error(format!("cannot walk history from {tip}: {err}")))?;
        Ok(walk.map(|info| {
            info.map(|info| info.id)
                .map_err(|err| error(format!("cannot walk history: {err}")))
        }))
    }

    /// Reads and decodes commit `id`, keeping at most `max_message_bytes` of
    /// its message.
    pub fn commit(&self, id: ObjectId, max_message_bytes: usize) -> Result<CommitData, RepoError> {
        let object = self
            .repo
            .find_object(id)
            .map_err(|err| error(format!("cannot read commit {id}: {err}")))?;
        if object.kind != gix::object::Kind::Commit {
            return Err(error(format!(
                "object {id} is a {}, not a commit",
                object.kind
            )));
        }
        let commit = gix::objs::CommitRef::from_bytes(&object.data, self.object_hash())
            .map_err(|err| error(format!("cannot parse commit {id}: {err}")))?;
        let parents = commit
            .parents
            .iter()
            .map(|hex| {
                ObjectId::from_hex(hex)
                    .map_err(|_| error(format!("commit {id} has an invalid parent id")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let encoding = commit.encoding.map(|label| label.to_vec());
        // git reads a message only up to its first NUL byte, before any
        // re-encoding (so a UTF-16 message ends after its first character).
        let raw_message: &[u8] = commit.message;
        let raw_message = match raw_message.find_byte(0) {
            Some(nul) => &raw_message[..nul],
            None => raw_message,
        };
        let message_truncated = raw_message.len() > max_message_bytes;
        let raw_message = &raw_message[..raw_message.len().min(max_message_bytes)];
        let message = decode_text(raw_message, encoding.as_deref());
        let author_email = decode_text(author_email_bytes(commit.author), encoding.as_deref());
        Ok(CommitData {
            id,
            tree: commit.tree(),
            parents,
            author_email,
            message,
            message_truncated,
        })
    }
}

/// The mode and object id of a tree entry, as compared between two trees.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    mode: gix::objs::tree::EntryMode,
    id: ObjectId,
}

impl Entry {
    fn tree_id(self) -> Option<ObjectId> {
        self.mode.is_tree().then_some(self.id)
    }
}

impl PushRepo {
    /// Calls `visit` with each path (`/`-separated, from the top of the tree)
    /// that `commit` adds, deletes or modifies against its first parent, or
    /// every path of its tree when it has no parent. Directories are not
    /// paths of their own, and a submodule is one path. Only subtrees whose
    /// ids differ are read, so unchanged directories cost nothing. Stops
    /// early when `visit` returns [`ControlFlow::Break`].
    ///
    /// Paths that are not valid UTF-8 are passed with the invalid bytes
    /// replaced by U+FFFD.
    pub fn for_each_changed_path(
        &self,
        commit: &CommitData,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), RepoError> {
        let parent_tree = match commit.parents.first() {
            Some(parent) => Some(self.commit_tree(*parent)?),
            None => None,
        };
        let mut path = Vec::new();
        self.compare_trees(parent_tree, Some(commit.tree), &mut path, 0, visit)
            .map(|_stopped| ())
    }

    fn commit_tree(&self, id: ObjectId) -> Result<ObjectId, RepoError> {
        let object = self
            .repo
            .find_object(id)
            .map_err(|err| error(format!("cannot read commit {id}: {err}")))?;
        gix::objs::CommitRefIter::from_bytes(&object.data, self.object_hash())
            .tree_id()
            .map_err(|err| error(format!("cannot read the tree of commit {id}: {err}")))
    }

    /// Reads the entries of tree `id` by name, or none when `id` is `None`.
    fn tree_entries(&self, id: Option<ObjectId>) -> Result<BTreeMap<Vec<u8>, Entry>, RepoError> {
        let mut entries = BTreeMap::new();
        let Some(id) = id else {
            return Ok(entries);
        };
        let object = self
            .repo
            .find_object(id)
            .map_err(|err| error(format!("cannot read tree {id}: {err}")))?;
        if object.kind != gix::object::Kind::Tree {
            return Err(error(format!(
                "object {id} is a {}, not a tree",
                object.kind
            )));
        }
        for entry in gix::objs::TreeRefIter::from_bytes(&object.data, self.object_hash()) {
            let entry = entry.map_err(|err| error(format!("cannot parse tree {id}: {err}")))?;
            let value = Entry {
                mode: entry.mode,
                id: entry.oid.to_owned(),
            };
            entries.insert(entry.filename.to_vec(), value);
        }
        Ok(entries)
    }

    /// Visits the paths below `path` that differ between trees `old` and
    /// `new`, where a missing tree counts as empty.
    fn compare_trees(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        path: &mut Vec<u8>,
        depth: usize,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, RepoError> {
        if old == new {
            return Ok(ControlFlow::Continue(()));
        }
        if depth >= MAX_TREE_DEPTH {
            return Err(error(format!(
                "the tree at {:?} nests deeper than {MAX_TREE_DEPTH} directories",
                path.to_str_lossy()
            )));
        }
        let old_entries = self.tree_entries(old)?;
        let new_entries = self.tree_entries(new)?;
        let names: BTreeSet<&Vec<u8>> = old_entries.keys().chain(new_entries.keys()).collect();
        for name in names {
            let before = old_entries.get(name).copied();
            let after = new_entries.get(name).copied();
            if before == after {
                continue;
            }
            let length = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);

            // A path that is a file (or link or submodule) on either side
            // changed itself: it was added, deleted, modified or replaced by
            // a directory. A directory on either side is compared below.
            let is_file = |entry: Option<Entry>| entry.is_some_and(|entry| !entry.mode.is_tree());
            if (is_file(before) || is_file(after)) && visit(&path.to_str_lossy()).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            let old_tree = before.and_then(Entry::tree_id);
            let new_tree = after.and_then(Entry::tree_id);
            if (old_tree.is_some() || new_tree.is_some())
                && self
                    .compare_trees(old_tree, new_tree, path, depth + 1, visit)?
                    .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
            path.truncate(length);
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Sets the object caches, which gix leaves unset unless its
/// `max-performance` feature is on. The store handle made for a quarantine
/// has none either.
///
/// The pack cache keeps recently decoded delta bases, so that commits
/// stored as deltas in a pack do not decompress their whole chain each
/// time. The object cache keeps the commits the walk has just read for the
/// policy, which reads each one right after the walk: without a
/// commit-graph (always the case for pushed commits in the quarantine)
/// every commit would otherwise be decompressed twice.
fn set_caches(repo: &mut gix::Repository) {
    repo.objects
        .set_pack_cache(|| Box::<gix::odb::pack::cache::lru::StaticLinkedList<64>>::default());
    repo.object_cache_size(OBJECT_CACHE_BYTES);
}

/// Extracts the address from a raw `Name <email> time zone` author header.
fn author_email_bytes(author: &[u8]) -> &[u8] {
    let Some(open) = author.find_byte(b'<') else {
        return b"";
    };
    let rest = &author[open + 1..];
    match rest.find_byte(b'>') {
        Some(close) => &rest[..close],
        None => rest,
    }
}

/// Converts commit text to UTF-8 as `git log` does: from the `encoding`
/// header's charset when there is one, else taking the bytes as UTF-8, with
/// invalid sequences replaced for display.
pub fn decode_text(bytes: &[u8], encoding: Option<&[u8]>) -> String {
    if let Some(label) = encoding
        && let Some(from) = gix_encoding::Encoding::for_label(label)
        && let Ok(converted) = gix_encoding::convert(bytes, from, gix_encoding::Encoding::Utf8)
    {
        return String::from_utf8_lossy(&converted).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Makes the private object directory: `objects/info/alternates` listing the
/// quarantine, the real object directory and the real directory's alternates.
fn private_store(quarantine: &Path, real_objects: &Path) -> Result<tempfile::TempDir, RepoError> {
    let dir = tempfile::Builder::new()
        .prefix("foureyes-odb-")
        .tempdir()
        .map_err(|err| error(format!("cannot create a private object directory: {err}")))?;
    let info = dir.path().join("objects/info");
    fs::create_dir_all(&info)
        .map_err(|err| error(format!("cannot create {}: {err}", info.display())))?;

    let mut chain = vec![quarantine.to_path_buf(), real_objects.to_path_buf()];
    collect_alternates(real_objects, 0, &mut chain)?;
    let mut text = String::new();
    for path in &chain {
        let Some(line) = path.to_str() else {
            return Err(error(format!(
                "object directory {} is not valid UTF-8",
                path.display()
            )));
        };
        if line.contains('\n') {
            return Err(error(format!(
                "object directory {line:?} contains a newline"
            )));
        }
        text.push_str(line);
        text.push('\n');
    }
    let file = info.join("alternates");
    fs::write(&file, text)
        .map_err(|err| error(format!("cannot write {}: {err}", file.display())))?;
    Ok(dir)
}

/// Appends the alternates of `objects_dir` to `chain`, recursively, with
/// relative entries resolved against the directory whose file names them.
fn collect_alternates(
    objects_dir: &Path,
    depth: usize,
    chain: &mut Vec<PathBuf>,
) -> Result<(), RepoError> {
    let file = objects_dir.join("info/alternates");
    let text = match fs::read(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(error(format!("cannot read {}: {err}", file.display()))),
    };
    if depth >= MAX_ALTERNATE_DEPTH {
        return Err(error(format!(
            "alternates of {} nest deeper than {MAX_ALTERNATE_DEPTH} levels",
            objects_dir.display()
        )));
    }
    for line in text.lines() {
        let line = line.trim_end_with(|c| c == '\r');
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let unquoted;
        let bytes: &[u8] = if line.starts_with(b"\"") {
            unquoted = unquote_c(line)?;
            &unquoted
        } else {
            line
        };
        let entry = gix::path::from_byte_slice(bytes)
            .map_err(|_| {
                error(format!(
                    "alternates entry {:?} is not a valid path",
                    line.as_bstr()
                ))
            })?
            .to_path_buf();
        let path = if entry.is_absolute() {
            entry
        } else {
            objects_dir.join(entry)
        };
        let path = fs::canonicalize(&path).unwrap_or(path);
        if !chain.contains(&path) {
            chain.push(path.clone());
            collect_alternates(&path, depth + 1, chain)?;
        }
    }
    Ok(())
}

fn unquote_c(line: &[u8]) -> Result<gix::bstr::BString, RepoError> {
    gix::quote::ansi_c::undo(line.as_bstr())
        .map(|(text, _)| text.into_owned())
        .map_err(|err| {
            error(format!(
                "invalid quoted alternates entry {:?}: {err}",
                line.as_bstr()
            ))
        })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Runs git in `dir` with no system or global configuration.
    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .output()
            .expect("start git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("git prints UTF-8 here")
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let file = dir.join(path);
        fs::create_dir_all(file.parent().expect("a file has a parent")).expect("create directory");
        fs::write(file, text).expect("write file");
    }

    fn changed(repo: &PushRepo, dir: &Path, revision: &str) -> Vec<String> {
        let id = repo
            .parse_id(git(dir, &["rev-parse", revision]).trim())
            .expect("git prints a full id");
        let commit = repo.commit(id, 1024).expect("read the commit");
        let mut paths = Vec::new();
        repo.for_each_changed_path(&commit, &mut |path| {
            paths.push(path.to_owned());
            ControlFlow::Continue(())
        })
        .expect("compare trees");
        paths
    }

    #[test]
    fn changed_paths_against_first_parent() {
        let temp = tempfile::tempdir().expect("create temporary directory");
        let dir = temp.path();
        git(dir, &["init", "--quiet", "--initial-branch=main", "."]);
        write(dir, "a/x", "1");
        write(dir, "b/y", "1");
        write(dir, "d", "file");
        write(dir, "same/deep/z", "1");
        write(dir, "mode", "1");
        git(dir, &["add", "."]);
        git(dir, &["commit", "--quiet", "-m", "root"]);

        write(dir, "a/x", "2");
        fs::remove_file(dir.join("b/y")).expect("remove file");
        write(dir, "c/new", "1");
        fs::remove_file(dir.join("d")).expect("remove file");
        write(dir, "d/e", "1");
        git(dir, &["add", "-A", "."]);
        git(dir, &["update-index", "--chmod=+x", "mode"]);
        git(dir, &["commit", "--quiet", "-m", "change"]);

        let repo = PushRepo::open(&dir.join(".git"), None).expect("open repository");
        assert_eq!(
            changed(&repo, dir, "HEAD~1"),
            ["a/x", "b/y", "d", "mode", "same/deep/z"]
        );
        assert_eq!(
            changed(&repo, dir, "HEAD"),
            ["a/x", "b/y", "c/new", "d", "d/e", "mode"]
        );
    }

    #[test]
    fn changed_paths_merge_uses_first_parent() {
        let temp = tempfile::tempdir().expect("create temporary directory");
        let dir = temp.path();
        git(dir, &["init", "--quiet", "--initial-branch=main", "."]);
        write(dir, "base", "1");
        git(dir, &["add", "."]);
        git(dir, &["commit", "--quiet", "-m", "root"]);
        git(dir, &["checkout", "--quiet", "-b", "topic"]);
        write(dir, "crypto/aes.c", "1");
        git(dir, &["add", "."]);
        git(dir, &["commit", "--quiet", "-m", "topic"]);
        git(dir, &["checkout", "--quiet", "main"]);
        write(dir, "docs", "1");
        git(dir, &["add", "."]);
        git(dir, &["commit", "--quiet", "-m", "docs"]);
        git(dir, &["merge", "--quiet", "--no-edit", "topic"]);

        let repo = PushRepo::open(&dir.join(".git"), None).expect("open repository");
        assert_eq!(changed(&repo, dir, "HEAD"), ["crypto/aes.c"]);
    }

    #[test]
    fn changed_paths_stop_early() {
        let temp = tempfile::tempdir().expect("create temporary directory");
        let dir = temp.path();
        git(dir, &["init", "--quiet", "--initial-branch=main", "."]);
        write(dir, "a", "1");
        write(dir, "b", "1");
        git(dir, &["add", "."]);
        git(dir, &["commit", "--quiet", "-m", "root"]);
        let repo = PushRepo::open(&dir.join(".git"), None).expect("open repository");
        let id = repo
            .parse_id(git(dir, &["rev-parse", "HEAD"]).trim())
            .expect("git prints a full id");
        let commit = repo.commit(id, 1024).expect("read the commit");
        let mut seen = Vec::new();
        repo.for_each_changed_path(&commit, &mut |path| {
            seen.push(path.to_owned());
            ControlFlow::Break(())
        })
        .expect("compare trees");
        assert_eq!(seen, ["a"]);
    }
}
