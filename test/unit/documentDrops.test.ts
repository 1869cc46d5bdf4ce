/**
 * The document pipeline's alignment branches, each by name, with a scripted engine (no model):
 * a valid triple, one about a pair outside the prompt (kept, counted), the same entity on both
 * sides, a head or a tail that is no entity, a relation outside the set, None, a malformed line.
 */
import { strict as assert } from 'node:assert';
import { RelationAligner } from '../../src/core/pipelines/align';
import { extractDocument } from '../../src/core/pipelines/document';
import { RelRecord, RelationSet } from '../../src/core/schema';
import { ScriptedEngine } from '../helpers/scriptedEngine';
import { sumReports } from '../../src/core/pipelines/docReport';
import { DocReportTotalSchema } from '../../src/protocol/engine';
import { LMRC_TEMPLATE } from '../../src/core/prompts/builtin';
import { NONE_ANSWER } from '../../src/core/prompts/views';

const rs: RelationSet = {
  name: 'geo',
  noRelation: null,
  directed: true,
  labels: [{ name: 'capital of' }, { name: 'country' }],
};
const text = 'Paris is the capital of France. Berlin is far from Paris.';
const record: RelRecord = {
  id: 'doc',
  text,
  entities: [
    {
      id: 'e1',
      name: 'Paris',
      type: 'LOC',
      mentions: [
        { start: 0, end: 5 },
        { start: 51, end: 56 },
      ],
    },
    { id: 'e2', name: 'France', type: 'LOC', mentions: [{ start: 24, end: 30 }] },
    { id: 'e3', name: 'Berlin', type: 'LOC', mentions: [{ start: 32, end: 38 }] },
  ],
  relations: [],
  sentences: [
    { start: 0, end: 31 },
    { start: 32, end: 57 },
  ],
};

describe('document pipeline: every alignment branch, by name (scripted engine)', () => {
  it('keeps valid triples, counts outside-prompt ones, and drops each bad line under its own reason', async () => {
    const lines = [
      '(Paris| capital of| France)',
      '(Berlin| country| France)',
      '(Paris| capital of| Paris)',
      '(Atlantis| country| France)',
      '(Paris| country| Atlantis)',
      '(Paris| flies over| France)',
      `(France| ${NONE_ANSWER}| Berlin)`,
      'this is not a triple',
    ];
    const engine = new ScriptedEngine(() => lines.join('\n'));
    const { record: out, report } = await extractDocument(engine, record, {
      relationSet: rs,
      template: LMRC_TEMPLATE,
      none: true,
      k: 1,
      filter: { kind: 'none' },
      aligner: new RelationAligner(
        rs.labels.map((l) => l.name),
        { noneWords: [NONE_ANSWER] },
      ),
      model: 'scripted',
    });
    const prompts = engine.prompts.length;
    // The report crosses the engine protocol as it is (its schema there is checked here).
    assert.ok(DocReportTotalSchema.safeParse(sumReports([report])).success);
    assert.equal(prompts, 6, 'k = 1: one prompt per ordered pair');
    assert.equal(report.prompts, prompts);
    assert.deepEqual(out.relations.map((r) => [r.head, r.label, r.tail]).sort(), [
      ['e1', 'capital of', 'e2'],
      ['e3', 'country', 'e2'],
    ]);
    assert.equal(report.relations, 2);
    // Each of the two valid triples is asked in one prompt and answered in all six.
    assert.equal(report.outsidePrompt, 2 * (prompts - 1));
    assert.equal(report.dropped['same-entity'], prompts);
    assert.equal(report.dropped['head-no-match'], prompts);
    assert.equal(report.dropped['tail-no-match'], prompts);
    assert.equal(report.dropped['relation-out-of-set'], prompts);
    assert.deepEqual(Object.keys(report.dropped).sort(), [
      'head-no-match',
      'malformed-line',
      'relation-out-of-set',
      'same-entity',
      'tail-no-match',
    ]);
    assert.equal(report.dropped['malformed-line'], prompts);
    assert.equal(report.noneAnswers, prompts);
    assert.equal(report.triples, 7 * prompts);
    assert.equal(report.malformedLines, prompts);
    // Every triple is accounted for: written, None, a repeat, or dropped for a named reason.
    assert.equal(report.duplicates, 2 * prompts - 2);
    const dropped =
      Object.values(report.dropped).reduce((a, b) => a + b, 0) - report.dropped['malformed-line']!;
    assert.equal(
      report.relations + report.noneAnswers + report.duplicates + dropped,
      report.triples,
    );
  });
});
