#!/bin/sh
# A careful pre-receive hook in plain shell: the baseline that foureyes is
# measured against. It applies foureyes' reviewer rule as far as shell can:
#
# - For each update of a protected ref it runs one `git log` over the commits
#   that enter the ref: `new --not <tips of every protected ref>` (the old
#   value is one of those tips), with every parent followed.
# - git parses the trailers (`%(trailers:key=...,valueonly,unfold)`), so the
#   trailer block is found exactly as git finds it.
# - awk takes the address inside <...> of each Reviewed-by value, lowercases
#   it and maps it to a person through the people file. Unknown addresses do
#   not count, nor the author, a Co-authored-by identity or the pusher, and
#   each person counts once.
# - Deleting a protected ref is rejected.
#
# What it does not do, unlike foureyes: Unicode normalization of addresses,
# commit encodings other than UTF-8, groups, quotas, force-push checks,
# shadow mode, per-commit explanations and audit records.
#
# Settings, from the environment:
#   FOUREYES_SHELL_PEOPLE     people file: lines "ADDRESS PERSON" and
#                             "user:USERNAME PERSON"; bots are left out so
#                             that they never count (required)
#   FOUREYES_SHELL_MIN        reviewers each commit needs (default 1)
#   FOUREYES_SHELL_PROTECTED  extended regex on full ref names
#                             (default ^refs/heads/main$)
#   GL_USERNAME, REMOTE_USER  the pusher's username, first non-empty wins
set -eu

people=${FOUREYES_SHELL_PEOPLE:?set FOUREYES_SHELL_PEOPLE to the people file}
min=${FOUREYES_SHELL_MIN:-1}
protected=${FOUREYES_SHELL_PROTECTED:-'^refs/heads/main$'}
pusher=${GL_USERNAME:-${REMOTE_USER:-}}
zero_pattern='^0+$'

# The tips of the protected refs as they are before the push; git has not
# moved any ref yet while pre-receive runs.
tips=$(git for-each-ref --format='%(objectname) %(refname)' |
    awk -v re="$protected" '$2 ~ re { print $1 }')

status=0
while read -r old new ref; do
    if ! printf '%s\n' "$ref" | grep -Eq "$protected"; then
        continue
    fi
    if printf '%s\n' "$new" | grep -Eq "$zero_pattern"; then
        echo "shell-hook: deleting $ref is not allowed" >&2
        status=1
        continue
    fi
    if [ "$(git cat-file -t "$new")" != commit ]; then
        echo "shell-hook: $ref would point to a non-commit" >&2
        status=1
        continue
    fi

    # One line per commit: id, author address, Reviewed-by values and
    # Co-authored-by values, fields separated by 0x1f and values by 0x01.
    # $tips is split into words on purpose: one id per word.
    # NOTE: POSIX sh has no pipefail, so a failing git log goes unnoticed
    # here; awk then sees fewer commits. Bash with pipefail would catch it.
    # shellcheck disable=SC2086
    git log --no-color --format='%H%x1f%ae%x1f%(trailers:key=Reviewed-by,valueonly,unfold,separator=%x01)%x1f%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x01)' \
        "$new" --not $tips -- |
        awk -v min="$min" -v ref="$ref" -v pusher="$pusher" '
            function address(value,    start, stop) {
                start = index(value, "<")
                if (start == 0) return ""
                stop = index(substr(value, start + 1), ">")
                if (stop == 0) return ""
                return tolower(substr(value, start + 1, stop - 1))
            }
            function person(email) {
                return (email in people) ? people[email] : ""
            }
            stage == "people" { people[tolower($1)] = $2; next }
            {
                checked++
                delete seen
                delete excluded
                author = person(tolower($2))
                if (author == "") author = "address:" tolower($2)
                excluded[author] = 1
                if (pusher != "" && ("user:" tolower(pusher)) in people)
                    excluded[people["user:" tolower(pusher)]] = 1
                ncoauthors = split($4, coauthors, "\001")
                for (i = 1; i <= ncoauthors; i++) {
                    who = person(address(coauthors[i]))
                    if (who != "") excluded[who] = 1
                }
                count = 0
                nreviews = split($3, reviews, "\001")
                for (i = 1; i <= nreviews; i++) {
                    who = person(address(reviews[i]))
                    if (who == "" || (who in excluded) || (who in seen)) continue
                    seen[who] = 1
                    count++
                }
                if (count < min) {
                    failed++
                    if (failed <= 20)
                        printf "shell-hook: %s: %s has %d of %d required reviewers\n",
                            ref, substr($1, 1, 12), count, min > "/dev/stderr"
                }
            }
            END {
                if (failed > 0) {
                    printf "shell-hook: %s: %d of %d checked commits fail\n",
                        ref, failed, checked > "/dev/stderr"
                    exit 1
                }
            }' stage=people FS=' ' "$people" stage=commits FS="$(printf '\037')" - ||
        status=1
done
exit "$status"
