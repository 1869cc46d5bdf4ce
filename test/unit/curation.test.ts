/** Curation logic of the editor (pure core): merging predictions, decisions, review queue, gold diff, line columns. */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  curate,
  evidenceQuotes,
  mergePredictions,
  reviewQueue,
  tripleViews,
} from '../../src/core/curation';
import {
  decodedColumns,
  textRangesToColumns,
  topLevelStringSpan,
} from '../../src/core/editor/jsonLine';
import { serializeRecord } from '../../src/core/formats/canonical';
import { RelRecord, validateRecord } from '../../src/core/schema';
import { RecordLineCache, lineDecorations } from '../../src/core/editor/lineDecorations';
import {
  HostMessageSchema as HostMessage,
  PANEL_RESULT_SCHEMAS,
  RequestSchema as WebviewRequest,
} from '../../src/protocol/webview';

const REC: RelRecord = {
  id: 's1',
  text: 'The "kitchen" is in the house.',
  entities: [
    { id: 'e1', name: 'kitchen', mentions: [{ start: 5, end: 12 }] },
    { id: 'e2', name: 'house', mentions: [{ start: 24, end: 29 }] },
  ],
  relations: [{ head: 'e1', tail: 'e2', label: 'Component-Whole', source: 'gold' }],
  pairs: [['e1', 'e2']],
};

describe('curation (core)', () => {
  it('merging predictions keeps gold, human and decided relations and replaces undecided predictions on the classified pairs', () => {
    const current: RelRecord = {
      ...REC,
      relations: [
        ...REC.relations,
        { head: 'e1', tail: 'e2', label: 'Other', source: 'model', status: 'pending', score: 0.2 },
        { head: 'e2', tail: 'e1', label: 'Member-Collection', source: 'model', status: 'rejected' },
      ],
    };
    const extracted: RelRecord = {
      ...REC,
      relations: [
        { head: 'e1', tail: 'e2', label: 'Component-Whole', source: 'model', score: 0.9 },
      ],
      meta: { extraction: { model: 'm' } },
    };
    const m = mergePredictions(current, extracted, [['e1', 'e2']]);
    assert.deepEqual(
      m.relations.map((r) => [r.label, r.source, r.status]),
      [
        ['Component-Whole', 'gold', undefined],
        ['Member-Collection', 'model', 'rejected'],
        ['Component-Whole', 'model', 'pending'],
      ],
    );
    assert.deepEqual(m.meta?.['extraction'], { model: 'm' });
    assert.ok(validateRecord(m).ok);
    // Extracting again gives the same record (idempotent).
    assert.deepEqual(mergePredictions(m, extracted, [['e1', 'e2']]), m);
  });

  it("accept, reject and edit make the relation the curator's and keep what the model said", () => {
    const rec: RelRecord = {
      ...REC,
      relations: [
        ...REC.relations,
        { head: 'e1', tail: 'e2', label: 'Other', source: 'model', status: 'pending', score: 0.4 },
      ],
    };
    const a = curate(rec, 1, { kind: 'accept' });
    assert.deepEqual(a.relations[1], {
      head: 'e1',
      tail: 'e2',
      label: 'Other',
      source: 'human',
      status: 'accepted',
      score: 0.4,
      meta: { predictedBy: 'model' },
    });
    assert.equal(curate(rec, 1, { kind: 'reject' }).relations[1]!.status, 'rejected');
    const e = curate(rec, 1, { kind: 'edit', label: 'Component-Whole' });
    assert.deepEqual(e.relations[1], {
      head: 'e1',
      tail: 'e2',
      label: 'Component-Whole',
      source: 'human',
      status: 'accepted',
      score: 0.4,
      meta: { predictedBy: 'model', predictedLabel: 'Other' },
    });
    assert.deepEqual(rec.relations[1]!.status, 'pending', 'the input record is not mutated');
    assert.throws(() => curate(rec, 5, { kind: 'accept' }), /no relation 5/);
  });

  it('the review queue lists undecided predictions, least confident first', () => {
    const r = (
      id: string,
      scores: Array<number | null>,
      status?: 'accepted',
    ): { line: number; record: RelRecord } => ({
      line: Number(id),
      record: {
        ...REC,
        id,
        relations: scores.map((s) => ({
          head: 'e1',
          tail: 'e2',
          label: 'Other',
          source: 'model' as const,
          score: s,
          ...(status ? { status } : {}),
        })),
      },
    });
    const q = reviewQueue([
      r('0', [0.9, 0.1]),
      r('1', [null]),
      r('2', [0.05], 'accepted'),
      r('3', [0.5]),
    ]);
    assert.deepEqual(
      q.map((x) => [x.line, x.relation, x.score]),
      [
        [1, 0, null],
        [0, 1, 0.1],
        [3, 0, 0.5],
        [0, 0, 0.9],
      ],
    );
  });

  it('marks predictions against gold: agree, wrong label, extra, missing', () => {
    const rec: RelRecord = {
      ...REC,
      entities: [...REC.entities, { id: 'e3', name: 'The', mentions: [{ start: 0, end: 3 }] }],
      relations: [
        { head: 'e1', tail: 'e2', label: 'Component-Whole', source: 'gold' },
        { head: 'e3', tail: 'e2', label: 'Other', source: 'gold' },
        { head: 'e1', tail: 'e2', label: 'Component-Whole', source: 'model' },
        { head: 'e1', tail: 'e2', label: 'Content-Container', source: 'model' },
        { head: 'e2', tail: 'e3', label: 'Entity-Origin', source: 'model' },
        { head: 'e2', tail: 'e1', label: 'Member-Collection', source: 'model', status: 'rejected' },
      ],
    };
    assert.deepEqual(
      tripleViews(rec).map((v) => [v.label, v.status]),
      [
        ['Component-Whole', 'agree'],
        ['Content-Container', 'wrong-label'],
        ['Entity-Origin', 'extra'],
        ['Other', 'missing'],
      ],
    );
    assert.deepEqual(
      tripleViews(rec, 'Other').map((v) => v.status),
      ['agree', 'wrong-label', 'extra'],
    );
    assert.deepEqual(
      tripleViews(REC).map((v) => v.status),
      ['gold'],
    );
    assert.deepEqual(
      tripleViews({ ...REC, meta: { extraction: { model: 'm', noRelation: [['e1', 'e2']] } } }).map(
        (v) => v.status,
      ),
      ['missing'],
      'extracted, and the model found no relation',
    );
  });
});

describe('evidence quotes (core)', () => {
  it('quotes the evidence sentences by number, shortened; unknown sentence ids are skipped', () => {
    const text =
      'Alice was born in Paris. ' +
      'She moved to London, where she worked for many years as an engineer at a large company. ' +
      'The end.';
    const a = text.indexOf('She');
    const b = text.indexOf('The end');
    const r: RelRecord = {
      id: 'd',
      text,
      sentences: [
        { start: 0, end: a - 1 },
        { start: a, end: b - 1 },
        { start: b, end: text.length },
      ],
      entities: [],
      relations: [],
    };
    const q = evidenceQuotes(r, { head: 'e0', tail: 'e1', label: 'x', evidence: [0, 1, 7] }, 40);
    assert.deepEqual(q, [
      '[0] Alice was born in Paris.',
      '[1] She moved to London, where she worked f…',
    ]);
    assert.equal(q[1]!.length, 40 + 4);
    assert.deepEqual(evidenceQuotes(r, { head: 'e0', tail: 'e1', label: 'x' }), []);
  });
});

describe('JSON line columns (core)', () => {
  it('finds the top-level "text" string, not a nested or key one', () => {
    const line = '{"id":"text","meta":{"text":"no"},"text":"a\\"b","x":1}';
    const span = topLevelStringSpan(line, 'text')!;
    assert.equal(line.slice(span.start, span.end), 'a\\"b');
    assert.equal(topLevelStringSpan('{"id":"x"}', 'text'), null);
    assert.equal(topLevelStringSpan('not json', 'text'), null);
  });

  it('maps mention offsets to the raw columns through escapes', () => {
    const line = serializeRecord(REC);
    const [k, h] = textRangesToColumns(
      line,
      REC.entities.map((e) => e.mentions[0]!),
    )!;
    assert.equal(line.slice(k!.start, k!.end), 'kitchen');
    assert.equal(line.slice(h!.start, h!.end), 'house');
  });

  it('any decoded range maps to the raw text that decodes to it (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat(), fc.nat(), (s, a, b) => {
        const line = JSON.stringify({ id: 'x', text: s });
        const span = topLevelStringSpan(line, 'text')!;
        const cols = decodedColumns(line, span);
        assert.equal(cols.length, s.length + 1);
        const lo = s.length ? a % (s.length + 1) : 0;
        const hi = lo + (s.length ? b % (s.length - lo + 1) : 0);
        assert.equal(JSON.parse(`"${line.slice(cols[lo], cols[hi])}"`), s.slice(lo, hi));
      }),
      { numRuns: 300 },
    );
  });
});

describe('editor line decorations (core)', () => {
  it('triples with their marks and score, mention columns that show the entity names', () => {
    const rec: RelRecord = {
      ...REC,
      relations: [
        ...REC.relations,
        {
          head: 'e1',
          tail: 'e2',
          label: 'Component-Whole',
          source: 'model',
          score: 0.8765,
          status: 'pending',
        },
      ],
    };
    const line = serializeRecord(rec);
    const d = lineDecorations(line, new RecordLineCache(10), 'Other')!;
    assert.deepEqual(
      d.triples.map((t) => t.text),
      ['✓ kitchen —Component-Whole→ house 0.88'],
    );
    assert.deepEqual(
      d.mentions.map((m) => [m.entity, line.slice(m.start, m.end)]),
      [
        [0, 'kitchen'],
        [1, 'house'],
      ],
    );
    const accepted = lineDecorations(
      serializeRecord(curate(rec, 1, { kind: 'accept' })),
      new RecordLineCache(10),
      'Other',
    )!;
    assert.deepEqual(
      accepted.triples.map((t) => t.text),
      ['✓ kitchen —Component-Whole→ house 0.88 ✔'],
    );
  });

  it('lines that are not valid records get no decorations; the cache is bounded', () => {
    const cache = new RecordLineCache(2);
    assert.equal(lineDecorations('', cache), null);
    assert.equal(lineDecorations('{"id": 1', cache), null);
    assert.equal(
      lineDecorations(
        '{"id":"x","text":"a","entities":[],"relations":[{"head":"q","tail":"r","label":"L"}]}',
        cache,
      ),
      null,
      'semantically invalid',
    );
    const a = serializeRecord(REC);
    assert.equal(cache.get(a), cache.get(a), 'a line is parsed once');
  });
});

describe('webview protocol', () => {
  it('accepts the requests of the panel and refuses anything else', () => {
    assert.ok(
      WebviewRequest.safeParse({ type: 'request', id: 1, method: 'getState', params: {} }).success,
    );
    assert.ok(
      WebviewRequest.safeParse({
        type: 'request',
        id: 2,
        method: 'setRag',
        params: { index: 'idx', k: 5 },
      }).success,
    );
    assert.ok(
      !WebviewRequest.safeParse({
        type: 'request',
        id: 3,
        method: 'setRag',
        params: { index: 'idx', k: 0 },
      }).success,
    );
    assert.ok(
      !WebviewRequest.safeParse({ type: 'request', id: 4, method: 'runShell', params: {} }).success,
    );
    assert.ok(
      !WebviewRequest.safeParse({ type: 'request', method: 'getState', params: {} }).success,
      'no id',
    );
    assert.ok(
      !WebviewRequest.safeParse({
        type: 'request',
        id: 5,
        method: 'renderPrompt',
        params: { template: { name: 'x', instruction: 1, input: '', output: '' } },
      }).success,
    );
    assert.ok(HostMessage.safeParse({ type: 'response', id: 1, ok: false, error: 'nope' }).success);
    assert.ok(!HostMessage.safeParse({ type: 'response', id: 1, ok: 'yes', result: 1 }).success);
  });

  it('every method has a result schema, and a wrong answer is refused', () => {
    const methods = WebviewRequest.options.map((o) => o.shape.method.value).sort();
    assert.deepEqual(Object.keys(PANEL_RESULT_SCHEMAS).sort(), methods);
    assert.ok(PANEL_RESULT_SCHEMAS.saveTemplate.safeParse({ file: 'a.json' }).success);
    assert.ok(PANEL_RESULT_SCHEMAS.saveTemplate.safeParse(null).success);
    assert.ok(!PANEL_RESULT_SCHEMAS.saveTemplate.safeParse({ path: 'a.json' }).success);
    assert.ok(PANEL_RESULT_SCHEMAS.setLoras.safeParse({}).success);
    assert.ok(!PANEL_RESULT_SCHEMAS.setLoras.safeParse({ extra: 1 }).success);
    const view = { title: 't', metric: 'micro', precision: 1, recall: 1, f1: 1, perRelation: [] };
    assert.ok(PANEL_RESULT_SCHEMAS.evaluate.safeParse({ ...view, confusion: null }).success);
    assert.ok(!PANEL_RESULT_SCHEMAS.evaluate.safeParse(view).success, 'confusion missing');
  });
});
