#!/usr/bin/env bash
# The document encoder on all 500 Re-DocRED test documents, measured in one run (issue 25):
#  1. the candidate filter curve (pairs kept vs gold-pair recall) of the encoder and of the
#     logistic filter (trained here on dev), and the encoder's milliseconds per document;
#  2. mentions from raw text: mention P/R/F1 (exact span), entity recall;
#  3. the encoder alone (its own relations; the baseline the LLM must beat): official F1 and
#     Ign F1 (against dev, the training file here), with gold entities and from raw text
#     (entities found by the encoder, matched to gold ones by span, else name);
#  4. with LLM_DOCS > 0: the LLM stage (zero-shot: --no-default-adapter; or with $LORA) on the first LLM_DOCS test
#     documents behind the encoder filter, and the encoder alone on the same documents.
# Usage: bench/doc-encoder.sh [ENCODER_DIR]   (default models/redocred-filter)
#        LLM_DOCS=50 LORA=models/redocred-doc.gguf bench/doc-encoder.sh
#        DECODING=grammar (the LLM stage's answers generated token by token; default auto: the walk)
#        OUT=DIR (default .cache/bench/encoder)
set -euo pipefail
cd "$(dirname "$0")/.."
ENC=${1:-models/redocred-filter}
D=../shared/datasets/redocred
OUT=${OUT:-.cache/bench/encoder}
mkdir -p "$OUT"
CLI="node dist/cli.js"
[ -f dist/cli.js ] || npm run build
THREADS=${THREADS:-2}
LLM_DOCS=${LLM_DOCS:-0}
K=${K:-8}

$CLI train-filter $D/dev_revised.json -o $OUT/logistic.json --force
echo "== logistic filter"
$CLI bench filter --filter $OUT/logistic.json --gold $D/test_revised.json --json > $OUT/filter-logistic.json
echo "== encoder filter ($ENC)"
$CLI bench filter --filter "$ENC" --gold $D/test_revised.json | tee $OUT/filter-encoder.txt
$CLI bench filter --filter "$ENC" --gold $D/test_revised.json --json > $OUT/filter-encoder.json
echo "== mentions from raw text"
$CLI bench mentions --encoder "$ENC" --gold $D/test_revised.json --threads $THREADS | tee $OUT/mentions.txt

score() { # NAME PRED [extra eval flags]
  local name=$1 pred=$2; shift 2
  $CLI eval --metric docred --gold "${GOLD:-$D/test_revised.json}" --rel-info $D/rel_info.json --pred "$pred" --train $D/dev_revised.json "$@" --json > $OUT/eval-$name.json
  node -e "const e=require('./$OUT/eval-$name.json');console.log('$name: F1 %s Ign F1 %s P %s R %s',(100*e.f1).toFixed(2),(100*e.ign_f1).toFixed(2),(100*e.precision).toFixed(2),(100*e.recall).toFixed(2))" | tee -a $OUT/summary.txt
}
rm -f $OUT/summary.txt
echo "== the encoder alone"
/usr/bin/time -f "%e s wall" $CLI extract-doc $D/test_revised.json --filter "$ENC" --mode encoder --no-resume --force -o $OUT/encoder-gold.jsonl
score encoder-gold-entities $OUT/encoder-gold.jsonl
/usr/bin/time -f "%e s wall" $CLI extract-doc $D/test_revised.json --filter "$ENC" --mode encoder --text-only --no-resume --force -o $OUT/encoder-text.jsonl
score encoder-raw-text $OUT/encoder-text.jsonl --match-entities text

if [ "$LLM_DOCS" -gt 0 ]; then
  MODEL=${RELATION_LENS_MODEL:-.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
  [ -f "$MODEL" ] || python3 scripts/fetch_test_model.py
  node -e "const fs=require('fs');const d=JSON.parse(fs.readFileSync('$D/test_revised.json','utf8'));fs.writeFileSync('$OUT/test-$LLM_DOCS.json',JSON.stringify(d.slice(0,$LLM_DOCS)))"
  GOLD=$OUT/test-$LLM_DOCS.json
  export GOLD
  $CLI extract-doc $GOLD --rel-info $D/rel_info.json --filter "$ENC" --mode encoder --no-resume --force -o $OUT/encoder-$LLM_DOCS.jsonl
  score encoder-first-$LLM_DOCS $OUT/encoder-$LLM_DOCS.jsonl
  NAME=llm-zero-shot
  LORA_ARGS=(--no-default-adapter)
  if [ -n "${LORA:-}" ]; then NAME=llm-adapter; LORA_ARGS=(--lora "$LORA"); fi
  /usr/bin/time -f "%e s wall" $CLI extract-doc $GOLD --rel-info $D/rel_info.json --model "$MODEL" "${LORA_ARGS[@]}" --filter "$ENC" --pairs-per-prompt $K --threads $THREADS --decoding "${DECODING:-auto}" --no-resume --force -o $OUT/$NAME-$LLM_DOCS.jsonl
  score $NAME-first-$LLM_DOCS $OUT/$NAME-$LLM_DOCS.jsonl
fi
cat $OUT/summary.txt
