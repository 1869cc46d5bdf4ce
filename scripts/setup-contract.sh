#!/usr/bin/env bash
# The serving contract tests' virtual environment (.cache/contract-venv): vLLM and SGLang at the
# pinned versions, installed --no-deps (the tests read their OpenAI protocol modules, not their
# engines), and what those modules import (test/contract/requirements.txt). torch and
# transformers are read from the trainer's venv (.cache/trainer-venv, by a .pth line) so they are
# not installed twice; without it they are installed here. Run by `npm run test:all` and CI; when
# it cannot be set up, the contract tests print SKIP with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
VLLM=vllm==0.33.0
SGLANG=sglang==0.5.23
V=.cache/contract-venv
REQ=test/contract/requirements.txt
want=$( (cat "$REQ"; echo "$VLLM $SGLANG") | sha256sum | cut -d' ' -f1)
if [ -f "$V/.ready" ] && [ "$(cat "$V/.ready")" = "$want" ]; then exit 0; fi
skip() { echo "setup-contract: $1; the serving contract tests will be skipped"; exit 0; }
rm -rf "$V"
python3 -m venv "$V" || skip "python3 -m venv failed"
"$V/bin/pip" install -q --disable-pip-version-check -r "$REQ" || skip "pip could not install $REQ"
"$V/bin/pip" install -q --disable-pip-version-check --no-deps "$VLLM" "$SGLANG" || skip "pip could not install $VLLM $SGLANG"
site=$("$V/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
T=.cache/trainer-venv
if [ -x "$T/bin/python" ] && "$T/bin/python" -c 'import torch, transformers' 2>/dev/null; then
  "$T/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/zz-trainer-venv.pth"
else
  "$V/bin/pip" install -q --disable-pip-version-check torch==2.15.0 transformers==5.23.0 || skip "pip could not install torch"
fi
echo "$want" > "$V/.ready"
echo "setup-contract: $V ready ($VLLM, $SGLANG)"
