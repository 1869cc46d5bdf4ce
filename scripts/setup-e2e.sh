#!/usr/bin/env bash
# What the real-VS-Code end-to-end test needs: code-server (npm, into .cache/code-server) and
# Debian's Chromium. Run by `npm run test:e2e` (pretest:e2e) and so by CI; each step is skipped when its
# part is there already or cannot be installed here (the test then prints a SKIP line).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .cache/code-server/node_modules/code-server/out/node/entry.js ]; then
  if [ -f ../shared/tools/install-code-server.sh ]; then
    bash ../shared/tools/install-code-server.sh "$PWD/.cache/code-server" || echo "setup-e2e: code-server could not be installed; the end-to-end test will be skipped"
  else
    echo "setup-e2e: ../shared/tools/install-code-server.sh not found; the end-to-end test will be skipped"
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "setup-e2e: Chromium could not be installed; the end-to-end test will be skipped"
  else
    echo "setup-e2e: /usr/bin/chromium is missing (install Debian's chromium package); the end-to-end test will be skipped"
  fi
fi
# A CJK font, so the screenshots of Chinese records (FinRE, SanWen) show the characters.
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1 || echo "setup-e2e: no CJK font could be installed; Chinese text shows as boxes in the screenshots"
  fi
fi
exit 0
