//! Quota matching: which counted reviewers fill which quota slots.
//!
//! A quota `{ group = "security", count = 2 }` has two slots, and each
//! counted person fills at most one slot of all the quotas together. A
//! person in two groups therefore cannot satisfy two quotas alone. This is a
//! maximum bipartite matching between people and slots, not a sum of group
//! memberships, so that the result does not depend on the order in which
//! quotas or people are listed.

use crate::config::{Groups, Quota};

/// The result of [`assign`].
#[must_use]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// `(quota index, person id)` for each filled slot, sorted by quota index
    /// and then by the order of the people passed in.
    pub filled: Vec<(usize, String)>,
    /// `(quota index, empty slots)` for each quota with empty slots, sorted
    /// by quota index.
    pub missing: Vec<(usize, usize)>,
}

impl Assignment {
    /// Returns whether every slot of every quota is filled.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Assigns counted people to quota slots, each person filling at most one
/// slot, so that as many slots as possible are filled.
///
/// `people` are the ids of the people who counted; an id listed twice is
/// still one person. Uses augmenting paths (Kuhn's algorithm), which takes
/// O(slots × people × memberships) time; both are small here.
pub fn assign(people: &[&str], quotas: &[Quota], groups: &Groups) -> Assignment {
    let mut distinct: Vec<&str> = Vec::with_capacity(people.len());
    for &person in people {
        if !distinct.contains(&person) {
            distinct.push(person);
        }
    }

    // Candidates of each quota, as indexes into `distinct`.
    let candidates: Vec<Vec<usize>> = quotas
        .iter()
        .map(|quota| {
            (0..distinct.len())
                .filter(|&index| groups.contains(&quota.group, distinct[index]))
                .collect()
        })
        .collect();

    // One entry per slot, holding its quota index. A quota gets no more
    // slots than it has candidates, because the rest could never be filled;
    // this keeps a large count cheap.
    let mut slots: Vec<usize> = Vec::new();
    for (index, quota) in quotas.iter().enumerate() {
        let usable = quota.count.min(candidates[index].len());
        slots.extend(std::iter::repeat_n(index, usable));
    }

    let mut matching = Matching {
        slots: &slots,
        candidates: &candidates,
        slot_of_person: vec![None; distinct.len()],
        visited: vec![false; distinct.len()],
    };
    for slot in 0..slots.len() {
        matching.visited.fill(false);
        matching.augment(slot);
    }

    let mut filled: Vec<(usize, String)> = Vec::new();
    let mut filled_per_quota = vec![0usize; quotas.len()];
    for (person, slot) in matching.slot_of_person.iter().enumerate() {
        if let Some(slot) = slot {
            let quota = slots[*slot];
            filled.push((quota, distinct[person].to_string()));
            filled_per_quota[quota] += 1;
        }
    }
    // The sort is stable, so people of one quota keep their input order.
    filled.sort_by_key(|(quota, _)| *quota);

    let missing = quotas
        .iter()
        .enumerate()
        .filter_map(|(index, quota)| {
            let empty = quota.count - filled_per_quota[index];
            (empty > 0).then_some((index, empty))
        })
        .collect();

    Assignment { filled, missing }
}

/// State of the augmenting-path search.
struct Matching<'a> {
    /// Quota index of each slot.
    slots: &'a [usize],
    /// Person indexes that may fill a slot of each quota.
    candidates: &'a [Vec<usize>],
    slot_of_person: Vec<Option<usize>>,
    /// People already tried in the current search.
    visited: Vec<bool>,
}

impl Matching<'_> {
    /// Fills `slot`, moving already assigned people to other slots when that
    /// frees a candidate. Returns whether the slot was filled.
    fn augment(&mut self, slot: usize) -> bool {
        let quota = self.slots[slot];
        for &person in &self.candidates[quota] {
            if self.visited[person] {
                continue;
            }
            self.visited[person] = true;

            let free = match self.slot_of_person[person] {
                None => true,
                Some(current) => self.augment(current),
            };
            if free {
                self.slot_of_person[person] = Some(slot);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config;

    /// Groups loaded through the configuration parser, so that the test
    /// uses the real [`Groups`]: bob is in security, core and both.
    fn groups() -> Groups {
        let text = r#"
            [groups]
            security = ["bob", "sam"]
            core = ["alice", "bob", "carol"]
            release = ["dave"]
            both = ["bob", "sam"]

            [[person]]
            id = "alice"
            [[person]]
            id = "bob"
            [[person]]
            id = "carol"
            [[person]]
            id = "dave"
            [[person]]
            id = "sam"

            [[rule]]
            name = "any"
            refs = ["refs/heads/main"]
            min_reviewers = 0
        "#;
        config::parse(text, Path::new("quota-test.toml"))
            .expect("the test configuration is valid")
            .groups
    }

    fn quota(group: &str, count: usize) -> Quota {
        Quota {
            group: group.to_string(),
            count,
        }
    }

    /// People, quotas, and the expected missing slots as
    /// `(quota index, empty slots)`.
    type Case<'a> = (&'a [&'a str], &'a [Quota], &'a [(usize, usize)]);

    #[test]
    fn assign_table() {
        let groups = groups();
        let cases: &[Case] = &[
            // bob is in security and core: with alice both quotas fill.
            (
                &["bob", "alice"],
                &[quota("security", 1), quota("core", 1)],
                &[],
            ),
            // Order of the people does not matter.
            (
                &["alice", "bob"],
                &[quota("security", 1), quota("core", 1)],
                &[],
            ),
            // Order of the quotas does not matter.
            (
                &["bob", "alice"],
                &[quota("core", 1), quota("security", 1)],
                &[],
            ),
            // bob alone fills only one of two slots.
            (
                &["bob"],
                &[quota("security", 1), quota("core", 1)],
                &[(1, 1)],
            ),
            (
                &["bob"],
                &[quota("core", 1), quota("security", 1)],
                &[(1, 1)],
            ),
            // One person listed twice is still one person.
            (&["bob", "bob"], &[quota("core", 2)], &[(0, 1)]),
            // A count of 2 needs two members.
            (&["alice", "carol"], &[quota("core", 2)], &[]),
            (&["alice", "dave"], &[quota("core", 2)], &[(0, 1)]),
            // People in no quota group fill nothing.
            (&["dave"], &[quota("security", 1)], &[(0, 1)]),
            // No people: every slot stays empty.
            (
                &[],
                &[quota("security", 2), quota("core", 1)],
                &[(0, 2), (1, 1)],
            ),
            // No quotas: complete.
            (&["alice"], &[], &[]),
            // An augmenting path: the greedy choice bob -> security must be
            // undone so that sam takes security and bob takes both.
            (
                &["bob", "sam"],
                &[quota("security", 1), quota("both", 1)],
                &[],
            ),
            // Three slots over two people who are each in two groups.
            (
                &["bob", "sam"],
                &[quota("security", 1), quota("both", 1), quota("core", 1)],
                &[(2, 1)],
            ),
            // Unknown group: it has no members.
            (&["alice"], &[quota("nonexistent", 1)], &[(0, 1)]),
            // A huge count does not blow up and reports the real shortfall.
            (
                &["alice", "bob"],
                &[quota("core", 1_000_000)],
                &[(0, 999_998)],
            ),
        ];
        for (people, quotas, missing) in cases {
            let assignment = assign(people, quotas, &groups);
            assert_eq!(
                assignment.missing, *missing,
                "people {people:?}, quotas {quotas:?}"
            );
            assert_eq!(
                assignment.is_complete(),
                missing.is_empty(),
                "people {people:?}, quotas {quotas:?}"
            );
        }
    }

    #[test]
    fn assign_fills_each_slot_with_member() {
        let groups = groups();
        let quotas = [quota("security", 1), quota("core", 1)];
        let assignment = assign(&["bob", "alice"], &quotas, &groups);
        let expected = vec![(0, "bob".to_string()), (1, "alice".to_string())];
        assert_eq!(assignment.filled, expected);
    }

    #[test]
    fn assign_uses_each_person_once() {
        let groups = groups();
        let quotas = [quota("security", 1), quota("both", 1), quota("core", 1)];
        let assignment = assign(&["bob", "sam", "alice"], &quotas, &groups);
        assert!(assignment.is_complete());
        let mut people: Vec<&str> = assignment.filled.iter().map(|(_, p)| p.as_str()).collect();
        people.sort_unstable();
        assert_eq!(people, ["alice", "bob", "sam"]);
        for (index, person) in &assignment.filled {
            assert!(
                groups.contains(&quotas[*index].group, person),
                "{person} fills a slot of {}",
                quotas[*index].group
            );
        }
    }
}
