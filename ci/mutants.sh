#!/usr/bin/env bash
# Mutation testing of the verification code (issue 16): does every check fail when the code that
# makes it is broken? cargo-mutants mutates the files below one change at a time and runs the
# suite's unit tests, the self-test (every catalogued defect caught, the conforming firmware
# passing) and the compliance target against each mutant. The bench self-test is skipped: the same
# recorder defects through a bench file, minutes per mutant. Score = caught / (caught + missed),
# unviable mutants excluded.
#
#   ci/mutants.sh                      # the whole verification code (hours on 2 cores)
#   ci/mutants.sh harness/suite/src/blame.rs harness/device/src/login.rs   # a part of it
#   MUTANTS_SHARD=0/6 ci/mutants.sh    # every 6th mutant of the whole scope: an estimate in a sixth of the time
#
# Long, so not part of .ci/run. Results: mutants.out/ (caught.txt, missed.txt, unviable.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants@27.1.0
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(harness/suite/src/steps harness/suite/src/dut.rs harness/suite/src/dut harness/suite/src/blame.rs
         harness/suite/src/record/judge.rs harness/device/src/login.rs)
fi
args=()
for f in "${files[@]}"; do
  if [ -d "$f" ]; then for g in "$f"/*.rs; do args+=(--file "$g"); done; else args+=(--file "$f"); fi
done
if [ -n "${MUTANTS_SHARD:-}" ]; then args+=(--shard "$MUTANTS_SHARD" --sharding round-robin); fi
# The `mutants` profile is the dev profile without debug info: a mutant's link is the bulk of its build.
# The fault tests are in the set because the lost-answer guards only run when an answer is lost.
exec cargo mutants "${args[@]}" --profile mutants --test-workspace false --test-package resetlab --timeout 600 \
  --build-timeout 1200 -- --lib --test selftest --test compliance --test faults -- --skip bench_selftest
