/**
 * Document-level RE (LMRC): the pair filter on Re-DocRED, batching and windows, raw-text entity
 * grounding, and the pipeline on real GGUF models (a tiny random-weight llama generated here,
 * and SmolLM2-135M when pip can fetch it), from the core and through the CLI.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AbortError } from '../../src/core/ports';
import { RelationAligner } from '../../src/core/pipelines/align';
import { DocumentOptions, extractDocument } from '../../src/core/pipelines/document';
import {
  groundMentions,
  mergeEntities,
  parseEntityList,
  proposeEntities,
  splitSentences,
} from '../../src/core/pipelines/entities';
import {
  FILTER_FORMAT,
  filterCurve,
  parsePairFilter,
  trainPairFilter,
} from '../../src/core/pipelines/pairFilter';
import { RelRecord, RelationSet, candidatePairs, validateRecord } from '../../src/core/schema';
import { LlamaEngine } from '../../src/engine/llama';
import { loadRecords } from '../../src/node/load';
import { TensorType, llamaModel, writeGguf } from '../fixtures/gguf';
import { smolLM2 } from '../helpers/models';
import { dataset, requireShared } from '../helpers/shared';
import {
  LMRC_EVIDENCE_TEMPLATE,
  LMRC_RC_TEMPLATE,
  LMRC_TEMPLATE,
} from '../../src/core/prompts/builtin';
import {
  answerGrammar,
  answerSchema,
  jsonAnswerLines,
  planBatches,
  windowText,
} from '../../src/core/pipelines/docPlan';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const DEV = dataset('redocred', 'dev_revised.json');
const TEST = dataset('redocred', 'test_revised.json');
const REL_INFO = dataset('redocred', 'rel_info.json');

const SMALL_SET: RelationSet = {
  name: 'small',
  noRelation: null,
  directed: true,
  labels: [
    { name: 'place of birth' },
    { name: 'employer' },
    { name: 'located in' },
    { name: 'country' },
  ],
};

/** A short document in the canonical format, built from sentences and entity names. */
function doc(id: string, sentences: string[], entities: Array<[string, string]>): RelRecord {
  let text = '';
  const spans = sentences.map((s) => {
    if (text) text += ' ';
    const start = text.length;
    text += s;
    return { start, end: text.length };
  });
  const ents = entities.map(([name, type], i) => {
    const mentions = [];
    for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + name.length)) {
      const sent = spans.findIndex((sp) => sp.start <= at && at < sp.end);
      mentions.push({ start: at, end: at + name.length, sent });
    }
    return { id: `e${i}`, name, type, mentions };
  });
  return { id, text, entities: ents, relations: [], sentences: spans };
}

const ALICE = doc(
  'alice',
  [
    'Alice Smith was born in Paris.',
    'She works for Acme Corp.',
    'Acme Corp is based in London.',
    'London is the capital of England.',
  ],
  [
    ['Alice Smith', 'PER'],
    ['Paris', 'LOC'],
    ['Acme Corp', 'ORG'],
    ['London', 'LOC'],
    ['England', 'LOC'],
  ],
);
ALICE.relations = [{ head: 'e0', tail: 'e1', label: 'place of birth', source: 'gold' }];

describe('document-level RE (LMRC)', function () {
  this.timeout(600_000);

  describe('candidate pair filter (Re-DocRED)', () => {
    let dev: RelRecord[];
    let test: RelRecord[];
    before(async function () {
      requireShared(this, DEV, TEST);
      dev = (await loadRecords(DEV, { format: 'docred' })).records.slice(0, 120);
      test = (await loadRecords(TEST, { format: 'docred' })).records.slice(0, 80);
    });

    it('trains on dev documents and ranks held-out test pairs far better than chance; the threshold reaches its recall', () => {
      const m = trainPairFilter(dev, { epochs: 4 });
      assert.equal(m.format, FILTER_FORMAT);
      assert.ok(Object.keys(m.weights).length > 100);
      const c = filterCurve(m, test);
      assert.ok(c.goldPairs > 100);
      for (let i = 1; i < c.points.length; i++) {
        assert.ok(c.points[i]!.keptFraction > c.points[i - 1]!.keptFraction);
        assert.ok(c.points[i]!.recall >= c.points[i - 1]!.recall);
        assert.ok(c.points[i]!.threshold < c.points[i - 1]!.threshold);
      }
      const at95 = c.atRecall(0.95);
      assert.ok(at95.recall >= 0.95);
      assert.ok(at95.keptFraction < 0.8, `95% recall needs ${at95.keptFraction} of the pairs`);
      // A random ranking finds 20% of the gold pairs in the top 20%.
      const at20 = c.points.filter((p) => p.keptFraction <= 0.2).pop()!;
      assert.ok(at20.recall > 0.5, `recall at 20% kept: ${at20.recall}`);
      const atModel = c.atThreshold(m.threshold);
      assert.ok(atModel.recall > 0.85, `recall at the trained threshold: ${atModel.recall}`);
    });

    it('training is deterministic and the artefact reads back', () => {
      const a = trainPairFilter(dev.slice(0, 30), { epochs: 2 });
      const b = trainPairFilter(dev.slice(0, 30), { epochs: 2 });
      assert.deepEqual(a, b);
      assert.deepEqual(parsePairFilter(JSON.stringify(a), 'f.json'), a);
    });

    it('a file that is not a filter is refused with its name', () => {
      assert.throws(
        () => parsePairFilter('{"a":', 'bad.json'),
        /bad\.json: not a pair filter \(invalid JSON/,
      );
      assert.throws(
        () => parsePairFilter('{"format":"other"}', 'x.json'),
        /x\.json: not a Relation Lens pair filter/,
      );
      assert.throws(
        () =>
          parsePairFilter(JSON.stringify({ format: FILTER_FORMAT, featuresVersion: 1 }), 'y.json'),
        /y\.json: invalid pair filter: .*bias/,
      );
    });
  });

  describe('batches and windows', () => {
    const pairs: Array<[string, string]> = [
      ['e0', 'e1'],
      ['e0', 'e2'],
      ['e2', 'e3'],
      ['e3', 'e4'],
      ['e1', 'e4'],
    ];

    it('k pairs per prompt over the whole text when it fits', async () => {
      const { batches, unfit } = await planBatches(ALICE, pairs, 2, () => true);
      assert.deepEqual(
        batches.map((b) => b.pairs.length),
        [2, 2, 1],
      );
      assert.ok(batches.every((b) => b.text === ALICE.text && !b.window));
      assert.deepEqual(unfit, []);
    });

    it('a prompt that does not fit gets the sentences of its pairs, then smaller batches, then the closest sentence pair', async () => {
      const limit = 80;
      const { batches, unfit } = await planBatches(ALICE, pairs, 5, (b) => b.text.length <= limit);
      assert.deepEqual(unfit, []);
      assert.deepEqual(batches.flatMap((b) => b.pairs).sort(), [...pairs].sort());
      for (const b of batches) {
        assert.ok(b.window && b.text.length <= limit);
        // The window keeps a mention of both entities of every pair.
        for (const [h, t] of b.pairs)
          for (const id of [h, t]) {
            const e = ALICE.entities.find((x) => x.id === id)!;
            assert.ok(b.text.includes(e.name), `${e.name} in "${b.text}"`);
          }
      }
      const none = await planBatches(ALICE, pairs, 5, () => false);
      assert.deepEqual(none.batches, []);
      assert.equal(none.unfit.length, pairs.length);
    });

    it('window text marks what was left out', () => {
      assert.equal(
        windowText(ALICE, [1, 3]),
        '… She works for Acme Corp. … London is the capital of England.',
      );
      assert.equal(
        windowText(ALICE, [0, 1]),
        'Alice Smith was born in Paris. She works for Acme Corp. …',
      );
      assert.equal(
        windowText(ALICE, [1, 3], true),
        '… [1] She works for Acme Corp. … [3] London is the capital of England.',
      );
    });

    it('numbered batches (evidence) show the whole document with its sentence numbers', async () => {
      const { batches } = await planBatches(
        ALICE,
        candidatePairs(ALICE).slice(0, 2),
        2,
        () => true,
        true,
      );
      assert.equal(
        batches[0]!.text,
        '[0] Alice Smith was born in Paris. [1] She works for Acme Corp. [2] Acme Corp is based in London. [3] London is the capital of England.',
      );
      assert.equal(batches[0]!.window, undefined);
    });
  });

  describe('raw text: sentences, grounding, entities', () => {
    it('splits English and Chinese sentences (Intl.Segmenter) into trimmed spans', () => {
      const en = 'Dr. Smith went to Washington. He met the U.S. president!  Then he left.';
      const s = splitSentences(en).map((x) => en.slice(x.start, x.end));
      assert.ok(s.length >= 3 && s[s.length - 1] === 'Then he left.', JSON.stringify(s));
      const zh = '华为成立于1987年。总部位于深圳！它的创始人是任正非。';
      assert.deepEqual(
        splitSentences(zh).map((x) => zh.slice(x.start, x.end)),
        ['华为成立于1987年。', '总部位于深圳！', '它的创始人是任正非。'],
      );
    });

    it('reads the entity list leniently: a truncated list keeps its complete items; garbage is malformed', () => {
      assert.deepEqual(parseEntityList('{"entities": [{"name": "Paris", "type": "LOC"}]}'), {
        items: [{ name: 'Paris', type: 'LOC' }],
        malformed: false,
      });
      const cut = parseEntityList(
        '{"entities": [{"name": "A \\"B\\"", "type": "PER"}, {"name": "C", "type": "ORG"}, {"name": "A \\"B\\"", "type": "PER"}, {"name": "Wars',
      );
      assert.deepEqual(cut, {
        items: [
          { name: 'A "B"', type: 'PER' },
          { name: 'C', type: 'ORG' },
        ],
        malformed: false,
      });
      assert.equal(parseEntityList('I think the entities are Paris and London.').malformed, true);
    });

    it('grounds names exactly, normalized and fuzzily to exact offsets; unknown names are reported, not invented', () => {
      const text =
        'Barack Obama visited Honolulu. OBAMA met Michelle Obama in 臺灣. Annual reports mention Ann.';
      const span = { start: 0, end: text.length };
      const g = groundMentions(text, span, [
        { name: 'Barack Obama', type: 'PER' },
        { name: 'obama', type: 'PER' },
        { name: 'Honolulo', type: 'LOC' },
        { name: '台湾', type: 'LOC' },
        { name: 'Ann', type: 'PER' },
        { name: 'Paris', type: 'LOC' },
      ]);
      for (const m of g.mentions) assert.equal(text.slice(m.start, m.end), m.name);
      const by = (how: string) => g.mentions.filter((m) => m.how === how).map((m) => m.name);
      assert.deepEqual(by('exact'), ['Barack Obama', 'Ann']);
      assert.deepEqual(by('normalized').sort(), ['OBAMA', 'Obama', 'Obama', '臺灣'].sort());
      assert.deepEqual(by('fuzzy'), ['Honolulu']);
      assert.deepEqual(
        g.ungrounded.map((u) => u.name),
        ['Paris'],
      );
      assert.ok(
        !g.mentions.some((m) => m.name === 'Ann' && m.start === text.indexOf('Annual')),
        '"Ann" is not grounded inside "Annual"',
      );
      const sentences = splitSentences(text);
      const entities = mergeEntities(text, g.mentions, sentences);
      const rec = { id: 't', text, entities, relations: [], sentences };
      const v = validateRecord(rec);
      assert.ok(v.ok, v.ok ? '' : v.problems.join('; '));
      // "Barack Obama" keeps its span; the overlapping "Obama" inside it is dropped; OBAMA/Obama merge.
      const obama = entities.find((e) => e.name === 'OBAMA' || e.name === 'Obama')!;
      assert.equal(obama.mentions.length, 2);
      assert.equal(entities.find((e) => e.name === 'Barack Obama')!.mentions.length, 1);
    });
  });

  describe('pipeline on a tiny random-weight llama (GGUF written here)', () => {
    let dir: string;
    let engine: LlamaEngine;
    const base = (o: Partial<DocumentOptions> = {}): DocumentOptions => ({
      relationSet: SMALL_SET,
      template: LMRC_RC_TEMPLATE,
      none: false,
      k: 3,
      filter: { kind: 'none' },
      aligner: new RelationAligner(SMALL_SET.labels.map((l) => l.name)),
      model: 'tiny',
      ...o,
    });
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'rl-doc-'));
      const m = llamaModel(
        { vocab: 259, embd: 64, layers: 2, ff: 128, heads: 4, headsKv: 2, context: 8192 },
        TensorType.F32,
        7,
      );
      await writeGguf(path.join(dir, 'tiny.gguf'), m.metadata, m.tensors);
      engine = await LlamaEngine.open({
        modelPath: path.join(dir, 'tiny.gguf'),
        contextSize: 2048,
        parallel: 2,
        threads: 2,
      });
    });
    after(async () => {
      await engine?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const decoding of ['grammar', 'walk'] as const)
      it(`${decoding === 'walk' ? 'the decoding walk (the default here)' : 'grammar-constrained generation'}: one parsable line per pair, labels from the set, a valid record and an honest report`, async () => {
        const { record, report } = await extractDocument(
          engine,
          ALICE,
          base(decoding === 'grammar' ? { decoding } : {}),
        );
        if (decoding === 'walk') assert.ok(report.scoredSteps > 0, 'the walk asked the model');
        else assert.equal(report.scoredSteps, 0);
        assert.ok(validateRecord(record).ok);
        assert.equal(report.pairsIn, 20);
        assert.equal(report.pairsKept, 20);
        assert.equal(report.goldPairs, 1);
        assert.equal(report.goldPairsKept, 1);
        assert.equal(report.prompts, 7);
        assert.equal(report.malformedLines, 0);
        assert.equal(report.truncatedOutputs, 0);
        assert.ok(report.triples >= 20, `every pair answered: ${report.triples}`);
        assert.equal(report.aligned.entity['exact'], 2 * report.triples);
        assert.ok(
          report.promptTokens > 0 && report.reusedTokens > 0,
          'later prompts reuse the document prefix',
        );
        const labels = new Set(SMALL_SET.labels.map((l) => l.name));
        assert.ok(record.relations.length >= 20);
        for (const r of record.relations) {
          assert.ok(labels.has(r.label));
          assert.equal(r.source, 'model');
          assert.ok(typeof r.meta?.['prompt'] === 'number');
        }
        assert.ok(
          !record.relations.some((r) => r.source === 'gold'),
          'gold relations are not copied into predictions',
        );
      });

    it('with the None answer (lmrc template), None lines become no relation', async () => {
      const { record, report } = await extractDocument(
        engine,
        ALICE,
        base({ template: LMRC_TEMPLATE, none: true }),
      );
      assert.equal(report.malformedLines, 0);
      assert.ok(report.triples >= 20);
      // Under the grammar every triple is either None or an aligned relation; nothing is dropped.
      const aligned = Object.values(report.aligned.relation).reduce((a, b) => a + b, 0);
      assert.equal(aligned + report.noneAnswers, report.triples);
      assert.deepEqual(report.dropped, {});
      assert.ok(!record.relations.some((r) => r.label === 'None'));
    });

    it("JSON-schema answers (for engines that take only schemas: Ollama, OpenAI): items are the prompt's pairs, read back as lines and aligned", async function () {
      // SmolLM2 (a BPE vocabulary) under node-llama-cpp's JSON grammar, on three entities.
      const smol = await LlamaEngine.open({ modelPath: smolLM2(this), contextSize: 2048 });
      const three = { ...ALICE, entities: ALICE.entities.slice(0, 3) };
      const { record, report } = await extractDocument(
        smol,
        three,
        base({ template: LMRC_TEMPLATE, none: true, answerFormat: 'json' }),
      ).finally(() => smol.dispose());
      assert.ok(validateRecord(record).ok);
      assert.equal(report.prompts, 2, '6 pairs, 3 per prompt');
      assert.ok(report.triples > 0, 'items read back');
      assert.equal(report.malformedLines, 0, 'the schema admits only readable items');
      const aligned = Object.values(report.aligned.relation).reduce((a, b) => a + b, 0);
      assert.equal(aligned + report.noneAnswers, report.triples, 'each item aligned or None');
      assert.deepEqual(Object.keys(report.aligned.entity), ['exact'], 'names exactly');
      const labels = new Set(SMALL_SET.labels.map((l) => l.name));
      for (const r of record.relations) assert.ok(labels.has(r.label));
    });

    it("the JSON answer schema: one of the prompt's pairs per item, relations from the set; its answer reads back as lines", () => {
      const schema = answerSchema(
        [
          ['Alice', 'Paris'],
          ['Paris', 'Alice'],
        ],
        ['born in', 'None'],
        2,
      ) as { properties: { relations: { items: { anyOf: unknown[] }; maxItems: number } } };
      assert.equal(schema.properties.relations.maxItems, 4);
      assert.deepEqual(schema.properties.relations.items.anyOf[1], {
        type: 'object',
        properties: {
          head: { type: 'string', enum: ['Paris'] },
          relation: { type: 'string', enum: ['born in', 'None'] },
          tail: { type: 'string', enum: ['Alice'] },
        },
        required: ['head', 'relation', 'tail'],
        additionalProperties: false,
      });
      assert.equal(
        jsonAnswerLines(
          '{"relations":[{"head":"Alice","relation":"born in","tail":"Paris","evidence":[0,2]},{"head":"Paris","relation":"None","tail":"Alice"}]}',
        ),
        '(Alice| born in| Paris| 0, 2)\n(Paris| None| Alice)\n',
      );
      assert.equal(
        jsonAnswerLines(
          '{"relations": [{"head": "A", "relation": "born in", "tail": "P"}, {"head": "Al',
        ),
        '(A| born in| P)\n',
        'cut off: the complete items',
      );
      assert.equal(jsonAnswerLines('(A| born in| P)'), '(A| born in| P)', 'not JSON: as it is');
    });

    it('unconstrained output (a remote or grammar-less engine) never crashes the run; malformed lines are counted', async () => {
      const { record, report } = await extractDocument(
        engine,
        ALICE,
        base({ constrain: false, maxRelationsPerPair: 1 }),
      );
      assert.ok(validateRecord(record).ok);
      assert.equal(report.prompts, 7);
      assert.equal(report.outputLines, report.triples + report.malformedLines);
      assert.ok(report.malformedLines > 0, 'random weights write garbage');
      const labels = new Set(SMALL_SET.labels.map((l) => l.name));
      for (const r of record.relations) assert.ok(labels.has(r.label));
    });

    it('a document longer than the context is processed in windows, and the relations say so', async () => {
      const small = await LlamaEngine.open({
        modelPath: path.join(dir, 'tiny.gguf'),
        contextSize: 1024,
        parallel: 1,
        threads: 2,
      });
      try {
        const long = doc(
          'long',
          [
            'Alice Smith was born in Paris.',
            ...Array.from(
              { length: 12 },
              (_, i) => `Filler sentence number ${i} talks about nothing in particular at all.`,
            ),
            'She works for Acme Corp.',
          ],
          [
            ['Alice Smith', 'PER'],
            ['Paris', 'LOC'],
            ['Acme Corp', 'ORG'],
          ],
        );
        const { record, report } = await extractDocument(small, long, base({ k: 6 }));
        assert.ok(report.windows > 0);
        assert.equal(report.errors.length, 0, report.errors.join('; '));
        assert.ok(record.relations.length > 0);
        assert.ok(record.relations.every((r) => Array.isArray(r.meta?.['window'])));
        assert.match(
          String((record.meta?.['extraction'] as { note?: string }).note),
          /long document/,
        );
      } finally {
        await small.dispose();
      }
    });

    it("the per-prompt grammar is accepted by llama.cpp and only admits the prompt's pairs", async () => {
      const g = answerGrammar(
        [
          ['A', 'B'],
          ['B', 'C'],
        ],
        ['x', 'y z'],
        2,
      );
      assert.match(g, /^root ::= p0 p1$/m);
      const out = await engine.withPrompt({ user: 'go' }, (s) =>
        s.generateWithGrammar({ gbnf: g }, 200),
      );
      assert.match(out.text, /^(\(A\| (x|y z)\| B\)\n){1,2}(\(B\| (x|y z)\| C\)\n){1,2}$/);
      assert.equal(out.truncated, false);
    });

    it('with evidence, a relation line ends with sentence numbers the prompt shows, a None line with none', async () => {
      const g = answerGrammar(
        [
          ['A', 'B'],
          ['B', 'C'],
        ],
        ['x', 'None'],
        1,
        [0, 2, 11],
      );
      for (let i = 0; i < 3; i++) {
        const out = await engine.withPrompt({ user: `go ${i}` }, (s) =>
          s.generateWithGrammar({ gbnf: g }, 200),
        );
        assert.match(
          out.text,
          /^\(A\| (x\| B\| (0|2|11)(, (0|2|11)){0,4}|None\| B)\)\n\(B\| (x\| C\| (0|2|11)(, (0|2|11)){0,4}|None\| C)\)\n$/,
        );
      }
      // Without None (this random model's greedy choice would be None everywhere): every line is a relation.
      // Three entities (6 pairs, one line each) keep it short: this byte-level model spells every character.
      const small: RelRecord = { ...ALICE, entities: ALICE.entities.slice(0, 3), relations: [] };
      const { record, report } = await extractDocument(
        engine,
        small,
        base({
          template: LMRC_EVIDENCE_TEMPLATE,
          none: false,
          evidence: true,
          maxRelationsPerPair: 1,
        }),
      );
      assert.equal(report.malformedLines, 0);
      assert.equal(report.evidenceIgnored, 0);
      assert.equal(record.relations.length, 6);
      let given = 0;
      for (const r of record.relations) {
        assert.ok(r.evidence && r.evidence.length >= 1, 'every relation line carries evidence');
        for (const e of r.evidence) assert.ok(e >= 0 && e < ALICE.sentences!.length);
        given += r.evidence.length;
      }
      assert.ok(report.evidenceGiven >= given);
      assert.ok(validateRecord(record).ok);
    });

    it('proposes entities in raw text with a JSON-schema grammar and grounds them (or reports them)', async () => {
      const text = 'Alice Smith was born in Paris. She works for Acme Corp.';
      const { record, report } = await proposeEntities(engine, 'note.txt', text, {
        types: ['PER', 'LOC', 'ORG'],
      });
      const v = validateRecord(record);
      assert.ok(v.ok, v.ok ? '' : v.problems.join('; '));
      assert.equal(report.chunks, 1);
      assert.equal(report.malformedOutputs, 0, 'the schema grammar yields JSON');
      const grounded = Object.values(report.grounded).reduce((a, b) => a + b, 0);
      assert.ok(
        grounded + report.ungrounded.length >= report.proposed - 1,
        'every proposal is grounded or reported',
      );
      for (const e of record.entities)
        for (const m of e.mentions) assert.equal(text.slice(m.start, m.end), m.name ?? e.name);
    });

    it('stops promptly when aborted', async () => {
      const c = new AbortController();
      c.abort();
      await assert.rejects(extractDocument(engine, ALICE, base({ signal: c.signal })), AbortError);
    });
  });

  describe('CLI: train-filter, bench filter, extract-doc, eval (Re-DocRED)', () => {
    let dir: string;
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    before(async function () {
      requireShared(this, DEV, TEST, REL_INFO);
      if (!existsSync(CLI))
        assert.equal(
          spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT })
            .status,
          0,
        );
      dir = mkdtempSync(path.join(tmpdir(), 'rl-doc-cli-'));
      const dev = JSON.parse(await fs.readFile(DEV, 'utf8')) as unknown[];
      const test = JSON.parse(await fs.readFile(TEST, 'utf8')) as unknown[];
      await fs.writeFile(path.join(dir, 'train.json'), JSON.stringify(dev.slice(0, 60)));
      await fs.writeFile(path.join(dir, 'test.json'), JSON.stringify(test.slice(0, 20)));
      await fs.writeFile(path.join(dir, 'one.json'), JSON.stringify(test.slice(0, 1)));
      await fs.copyFile(REL_INFO, path.join(dir, 'rel_info.json'));
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('train-filter writes a filter; bench filter --json prints the curve and the 95 % point', () => {
      const filter = path.join(dir, 'filter.json');
      let r = run(
        'train-filter',
        path.join(dir, 'train.json'),
        '--epochs',
        '3',
        '--json',
        '-o',
        filter,
      );
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /trained on 54 document\(s\).*\n.*held-out document/);
      const summary = JSON.parse(r.out) as {
        documents: number;
        heldOut: { documents: number };
        threshold: number;
      };
      assert.equal(summary.documents, 54);
      assert.equal(summary.heldOut.documents, 6);
      assert.equal(
        summary.threshold,
        (JSON.parse(readFileSync(filter, 'utf8')) as { threshold: number }).threshold,
      );
      r = run(
        'bench',
        'filter',
        '--filter',
        filter,
        '--gold',
        path.join(dir, 'test.json'),
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.ok(j.recall_at_95 >= 0.95);
      assert.ok(j.kept_fraction_at_95 > 0 && j.kept_fraction_at_95 < 1);
      assert.ok(Array.isArray(j.curve) && j.curve.length > 10);
      // The breakdown by sentence distance adds up to the totals and to the 95 % point.
      const rows = j.by_sentence_distance_at_95 as Array<{
        distance: string;
        pairs: number;
        goldPairs: number;
        kept: number;
        goldKept: number;
      }>;
      assert.deepEqual(
        rows.map((x) => x.distance),
        ['0', '1', '2', '3', '4+'],
      );
      const sum = (k: 'pairs' | 'goldPairs' | 'kept' | 'goldKept') =>
        rows.reduce((a, x) => a + x[k], 0);
      assert.equal(sum('pairs'), j.pairs);
      assert.equal(sum('goldPairs'), j.gold_pairs);
      assert.ok(Math.abs(sum('kept') / j.pairs - j.kept_fraction_at_95) < 1e-9);
      assert.ok(Math.abs(sum('goldKept') / j.gold_pairs - j.recall_at_95) < 1e-9);
      assert.ok(rows[0]!.goldPairs > 0, 'some related pairs share a sentence');
      r = run(
        'train-filter',
        path.join(dir, 'nope.json'),
        '-o',
        path.join(dir, 'nope-filter.json'),
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /nope\.json/);
      r = run(
        'extract-doc',
        path.join(dir, 'one.json'),
        '--filter',
        path.join(dir, 'rel_info.json'),
        '-o',
        path.join(dir, 'x.jsonl'),
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /rel_info\.json: not a Relation Lens pair filter/);
    });

    it('extract-doc with SmolLM2-135M on a Re-DocRED document: JSONL, report and a submission that eval scores', async function () {
      const model = smolLM2(this);
      const filter = path.join(dir, 'filter.json');
      if (!existsSync(filter))
        assert.equal(
          run('train-filter', path.join(dir, 'train.json'), '--epochs', '3', '-o', filter).code,
          0,
        );
      const out = path.join(dir, 'doc.jsonl');
      // A stricter keep-threshold than the filter's own keeps the run short on a busy machine.
      let r = run(
        'extract-doc',
        path.join(dir, 'one.json'),
        '--model',
        model,
        '--filter',
        filter,
        '--threshold',
        '0.1',
        '--pairs-per-prompt',
        '8',
        '--threads',
        '2',
        '-o',
        out,
      );
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.err,
        /candidate stage \(model, threshold 0\.1000\): \d+ pair\(s\) in, \d+ kept/,
      );
      const recs = (await loadRecords(out)).records;
      assert.equal(recs.length, 1);
      const rel = JSON.parse(await fs.readFile(REL_INFO, 'utf8')) as Record<string, string>;
      const names = new Set(Object.values(rel));
      for (const x of recs[0]!.relations) assert.ok(names.has(x.label), x.label);
      const report = JSON.parse(await fs.readFile(path.join(dir, 'doc.report.json'), 'utf8'));
      assert.equal(report.total.documents, 1);
      assert.ok(report.total.prompts > 0 && report.total.promptTokens > 0);
      assert.equal(report.total.pairsIn, report.documents[0].pairsIn);
      r = run(
        'eval',
        '--metric',
        'docred',
        '--gold',
        path.join(dir, 'one.json'),
        '--pred',
        path.join(dir, 'doc.submission.json'),
        '--rel-info',
        REL_INFO,
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      const e = JSON.parse(r.out);
      assert.ok(e.f1 >= 0 && e.f1 <= 1);
      // The scorer read every relation of the record from the submission (it compared x with x before).
      const sub = JSON.parse(
        await fs.readFile(path.join(dir, 'doc.submission.json'), 'utf8'),
      ) as unknown[];
      const written = recs[0]!.relations.filter((x) => x.status !== 'rejected');
      assert.equal(sub.length, written.length);
      assert.equal(e.counts.predictions, written.length);
      assert.equal(
        e.counts.distinct_predictions,
        new Set(written.map((x) => `${x.head}\u0000${x.tail}\u0000${x.label}`)).size,
      );
    });

    it('extract-doc --template lmrc-evidence: numbered sentences, evidence on the relations and in the submission', async function () {
      const model = smolLM2(this);
      const filter = path.join(dir, 'filter.json');
      if (!existsSync(filter))
        assert.equal(
          run('train-filter', path.join(dir, 'train.json'), '--epochs', '3', '-o', filter).code,
          0,
        );
      const out = path.join(dir, 'ev.jsonl');
      const r = run(
        'extract-doc',
        path.join(dir, 'one.json'),
        '--model',
        model,
        '--filter',
        filter,
        '--threshold',
        '0.1',
        '--pairs-per-prompt',
        '8',
        '--threads',
        '2',
        '--template',
        'lmrc-evidence',
        '-o',
        out,
      );
      assert.equal(r.code, 0, r.err);
      const rec = (await loadRecords(out)).records[0]!;
      const n = rec.sentences!.length;
      const report = JSON.parse(await fs.readFile(path.join(dir, 'ev.report.json'), 'utf8'));
      assert.ok(rec.relations.length > 0, 'SmolLM2 answers relations here (it rarely says None)');
      let given = 0;
      for (const x of rec.relations) {
        assert.ok(
          x.evidence && x.evidence.length >= 1,
          'the grammar asks every relation line for evidence',
        );
        for (const e of x.evidence)
          assert.ok(Number.isInteger(e) && e >= 0 && e < n, `sentence ${e} of ${n}`);
        given += x.evidence.length;
      }
      assert.ok(report.total.evidenceGiven >= given);
      const sub = JSON.parse(
        await fs.readFile(path.join(dir, 'ev.submission.json'), 'utf8'),
      ) as Array<{ evidence?: number[] }>;
      assert.equal(sub.length, rec.relations.length);
      assert.ok(sub.every((x) => Array.isArray(x.evidence) && x.evidence.length >= 1));
    });

    it('extract-doc on a plain .txt file (--encoder none): entities proposed by the model, then relations', async function () {
      const model = smolLM2(this);
      const txt = path.join(dir, 'note.txt');
      await fs.writeFile(
        txt,
        'Loud Tour was the fourth overall and third world concert tour by Barbadian recording artist Rihanna. It was launched in support of her fifth studio album Loud (2010). The tour began on June 4, 2011 in Baltimore, United States and concluded at The O2 Arena in London, United Kingdom.\n',
      );
      const out = path.join(dir, 'note.jsonl');
      const r = run(
        'extract-doc',
        txt,
        '--model',
        model,
        '--rel-info',
        REL_INFO,
        '--encoder',
        'none',
        '--threads',
        '2',
        '-o',
        out,
      );
      assert.equal(r.code, 0, r.err);
      const recs = (await loadRecords(out)).records;
      assert.equal(recs.length, 1);
      assert.equal(recs[0]!.id, 'note.txt');
      assert.ok(
        recs[0]!.entities.length >= 2,
        `entities: ${recs[0]!.entities.map((e) => e.name).join(', ')}`,
      );
      const report = JSON.parse(await fs.readFile(path.join(dir, 'note.report.json'), 'utf8'));
      assert.equal(report.total.entityProposal.length, 1);
      const p = report.total.entityProposal[0];
      assert.ok(p.proposed >= 2);
      assert.equal(
        p.grounded.exact,
        p.proposed,
        'names are constrained to spans of the text, so all ground exactly',
      );
      // What the user sees: the entities it found, and where every triple went.
      assert.match(
        r.err,
        new RegExp(
          `entities found in note\\.txt \\(${recs[0]!.entities.length}\\): ${recs[0]!.entities[0]!.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      );
      assert.match(r.err, /\d+ triple\(s\): \d+ relation\(s\) written, \d+ None, \d+ repeated/);
    });
  });
});
