#!/usr/bin/env bash
# The LoRA trainer's virtual environment for the tests (.cache/trainer-venv): the CLI's own
# `trainer setup` (pinned trainer/requirements.txt; nothing to do when it is up to date). Run by
# `npm run test:e2e` (pretest:e2e) and so by CI; when it cannot be installed here the trainer tests print SKIP.
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsx src/cli/main.ts trainer setup --venv .cache/trainer-venv || echo "setup-trainer: the trainer could not be set up; the training tests will be skipped"
exit 0
