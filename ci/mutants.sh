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
exec cargo mutants "${args[@]}" --test-workspace false --test-package resetlab --timeout 600 --build-timeout 1200 \
  -- --lib --test selftest --test compliance -- --skip bench_selftest
