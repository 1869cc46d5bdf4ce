import { checkAdapterExport } from './src/node/adapterCheck';
import { loadRecords } from './src/node/load';
import { selectTrainingPairs, renderTrainingExamples } from './src/core/training/trainingSet';
import { sentenceSpace } from './src/node/jobs';
import { DEFAULT_TEMPLATE } from './src/core/prompts/template';
(async () => {
  const r = await loadRecords('/work/shared/datasets/semeval2010_task8/TEST_FILE_FULL.TXT', {});
  const rs = r.relationSet!;
  const { space, direction } = sentenceSpace(rs, undefined);
  const pairs = selectTrainingPairs(r.records.slice(0, 24), rs, direction).pairs;
  const prompts = []; let answers: string[] = [];
  for await (const e of renderTrainingExamples(pairs, { relationSet: rs, template: DEFAULT_TEMPLATE, space, direction, answerCodes: true })) { prompts.push(e.prompt); answers = e.answers; }
  const t0 = Date.now();
  const res = await checkAdapterExport({ modelPath: '.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf', adapter: process.argv[2]!, prompts, answers, venv: '.cache/trainer-venv' });
  console.log(JSON.stringify(res), (Date.now() - t0) / 1000);
  process.exit(0);
})();
