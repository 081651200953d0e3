//! Judging one commit under one rule: who counts as a reviewer, why every
//! other reviewer trailer does not, and whether the quotas are filled. Pure:
//! it reads only the decoded commit, the rule and the people table.

use super::*;

/// Resolves an address to a person when the people table lists it.
fn identify(config: &Config, address: Address) -> Who {
    match config.people.by_email(&address) {
        Some(person) => Who::Person(person.id.clone()),
        None => Who::Address(address),
    }
}

fn key_in(key: &str, keys: &[String]) -> bool {
    keys.iter().any(|wanted| wanted.eq_ignore_ascii_case(key))
}

/// Judges one commit: who counts as a reviewer and whether that is enough.
///
/// `matched_paths` are the indexes of the `[[rule.paths]]` entries that apply
/// to this commit (see [`matching_path_rules`]); their quotas are added to
/// the rule's own. `pusher` is the pushing person, when the rule needs one.
pub fn judge_commit(
    config: &Config,
    rule: &Rule,
    commit: &CommitData,
    pusher: Option<&Who>,
    matched_paths: &[usize],
) -> CommitVerdict {
    let (trailers, stray) = trailer::parse_with_stray(&commit.message, &rule.review_trailers);
    let author = identify(config, Address::new(commit.author_email.trim()));
    let coauthors: Vec<Who> = trailers
        .iter()
        .filter(|trailer| key_in(&trailer.key, &rule.coauthor_trailers))
        .filter_map(|trailer| identity::address_of(&trailer.value))
        .map(|address| identify(config, address))
        .collect();

    let mut counted: Vec<Who> = Vec::new();
    let mut not_counted = Vec::new();
    for trailer in trailers
        .iter()
        .filter(|trailer| key_in(&trailer.key, &rule.review_trailers))
    {
        match reviewer_status(
            config,
            rule,
            &trailer.value,
            &author,
            &coauthors,
            pusher,
            &counted,
        ) {
            Ok(who) => counted.push(who),
            Err(reason) => not_counted.push(NotCounted {
                trailer: format!("{}: {}", trailer.key, trailer.value),
                reason,
            }),
        }
    }
    for stray in stray {
        not_counted.push(NotCounted {
            trailer: format!("{}: {}", stray.key, stray.value),
            reason: NotCountedReason::NotInTrailerBlock,
        });
    }

    let mut problems = Vec::new();
    if commit.message_truncated {
        problems.push(format!(
            "the message is longer than {} bytes, the limit max_message_bytes",
            config.limits.max_message_bytes
        ));
    }
    if let Some(pusher) = pusher
        && !rule.pusher_may_be_author
    {
        let role = if pusher == &author {
            Some("the author")
        } else if coauthors.contains(pusher) {
            Some("a co-author")
        } else {
            None
        };
        if let Some(role) = role {
            problems.push(format!(
                "the pusher ({pusher}) is {role} of this commit, and rule {:?} does not let \
                 anyone push their own commits (pusher_may_be_author = false); ask someone \
                 else to push",
                rule.name
            ));
        }
    }
    if counted.len() < rule.min_reviewers {
        let names: Vec<String> = counted.iter().map(ToString::to_string).collect();
        problems.push(format!(
            "has {} of {} required reviewers{}",
            counted.len(),
            rule.min_reviewers,
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        ));
    }
    let quotas = fill_quotas(config, rule, &counted, matched_paths, &mut problems);

    let mut reviewers: Vec<String> = counted.iter().map(ToString::to_string).collect();
    reviewers.sort();
    CommitVerdict {
        id: commit.id.to_string(),
        subject: commit.message.lines().next().unwrap_or("").to_owned(),
        accepted: problems.is_empty(),
        reviewers,
        required: rule.min_reviewers,
        quotas,
        not_counted,
        problems,
    }
}

/// Assigns the counted people to the quota slots of the rule and of the
/// matched paths entries, one slot per person, and adds a problem for each
/// quota with empty slots.
fn fill_quotas(
    config: &Config,
    rule: &Rule,
    counted: &[Who],
    matched_paths: &[usize],
    problems: &mut Vec<String>,
) -> Vec<QuotaVerdict> {
    let mut quotas: Vec<Quota> = rule.require.clone();
    let mut sources: Vec<Option<&[String]>> = vec![None; quotas.len()];
    for &index in matched_paths {
        let Some(entry) = rule.paths.get(index) else {
            continue;
        };
        for quota in &entry.require {
            quotas.push(quota.clone());
            sources.push(Some(&entry.patterns));
        }
    }
    if quotas.is_empty() {
        return Vec::new();
    }

    // Only people of the people table can be group members.
    let people: Vec<&str> = counted
        .iter()
        .filter_map(|who| match who {
            Who::Person(id) => Some(id.as_str()),
            Who::Address(_) => None,
        })
        .collect();
    let assignment = quota::assign(&people, &quotas, &config.groups);

    let mut verdicts: Vec<QuotaVerdict> = quotas
        .iter()
        .zip(&sources)
        .map(|(quota, source)| QuotaVerdict {
            group: quota.group.clone(),
            count: quota.count,
            paths: source.map(<[String]>::to_vec),
            filled_by: Vec::new(),
        })
        .collect();
    for (index, person) in &assignment.filled {
        verdicts[*index].filled_by.push(person.clone());
    }

    for &(index, empty) in &assignment.missing {
        let quota = &verdicts[index];
        let mut problem = format!(
            "needs {empty} more {} from group {}",
            plural(empty, "reviewer", "reviewers"),
            quota.group
        );
        if let Some(patterns) = &quota.paths {
            let _ = write!(problem, " for changes to {}", patterns.join(", "));
        }
        // Members who counted but fill a slot of another quota explain why a
        // group that seems represented still has an empty slot.
        let elsewhere: Vec<String> = assignment
            .filled
            .iter()
            .filter(|(other, person)| {
                *other != index && config.groups.contains(&quota.group, person)
            })
            .map(|(other, person)| {
                format!(
                    "{person} fills the slot of group {}",
                    verdicts[*other].group
                )
            })
            .collect();
        if !elsewhere.is_empty() {
            let _ = write!(
                problem,
                " ({}; each person fills one slot)",
                elsewhere.join(", ")
            );
        }
        problems.push(problem);
    }
    verdicts
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// Decides whether one reviewer trailer value counts.
fn reviewer_status(
    config: &Config,
    rule: &Rule,
    value: &str,
    author: &Who,
    coauthors: &[Who],
    pusher: Option<&Who>,
    counted: &[Who],
) -> Result<Who, NotCountedReason> {
    let address = identity::address_of(value).ok_or(NotCountedReason::NoAddress)?;
    if let Some(imitated) = config.people.lookalike(&address) {
        return Err(NotCountedReason::Lookalike(imitated.to_owned()));
    }
    // Skeletons are costly and only needed against unlisted addresses, so
    // the common case (everyone is in the people table) computes none.
    let mut skeleton = None;
    let known = counted
        .iter()
        .chain(coauthors)
        .chain(std::iter::once(author));
    for earlier in known {
        if let Who::Address(earlier) = earlier
            && earlier != &address
            && identity::skeleton(earlier.as_str())
                == *skeleton.get_or_insert_with(|| identity::skeleton(address.as_str()))
        {
            return Err(NotCountedReason::Lookalike(earlier.to_string()));
        }
    }
    let who = identify(config, address);
    match &who {
        Who::Address(_) if rule.unknown_reviewers == UnknownReviewers::Ignore => {
            return Err(NotCountedReason::Unknown);
        }
        Who::Person(id) if config.people.get(id).is_some_and(|person| person.bot) => {
            return Err(NotCountedReason::Bot);
        }
        _ => {}
    }
    if let Some(groups) = &rule.reviewer_groups {
        let member = match &who {
            Who::Person(id) => groups.iter().any(|group| config.groups.contains(group, id)),
            Who::Address(_) => false,
        };
        if !member {
            return Err(NotCountedReason::NotInReviewerGroups);
        }
    }
    if &who == author {
        return Err(NotCountedReason::Author);
    }
    if coauthors.contains(&who) {
        return Err(NotCountedReason::CoAuthor);
    }
    if !rule.reviewer_may_be_pusher && pusher == Some(&who) {
        return Err(NotCountedReason::Pusher);
    }
    if counted.contains(&who) {
        return Err(NotCountedReason::Duplicate);
    }
    Ok(who)
}
