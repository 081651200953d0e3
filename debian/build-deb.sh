#!/bin/sh
# Builds the Debian package: the release binaries, then the man pages and
# shell completions generated from the command-line definitions, then
# cargo-deb without a second build. The binaries are stripped, because the
# release profile keeps line tables for backtraces and cargo-deb keeps them
# too without --strip. Arguments go to cargo deb.
set -eu
cd "$(dirname "$0")/.."

cargo build --release --locked
assets=target/assets
rm -rf "$assets"
target/release/foureyes generate man "$assets/man" >/dev/null
gzip -9n "$assets"/man/*
target/release/foureyes generate completions "$assets/completions" >/dev/null
cargo deb --no-build --strip "$@"
