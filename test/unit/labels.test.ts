/**
 * Relation names, not ids (issue 29, part 6): labels stored as ids (DocRED's Wikidata
 * properties) show as the relation set's names in the record view, inline triples and hovers;
 * a label picked by name is written in the form the record stores.
 */
import { strict as assert } from 'node:assert';
import {
  guidelinesMarkdown,
  labelDetail,
  labelInfo,
  labelNamer,
  labelNames,
  plainText,
  storedLabel,
} from '../../src/core/editor/labels';
import { validateRelationSet } from '../../src/core/schema';
import { RecordLineCache, lineDecorations } from '../../src/core/editor/lineDecorations';
import { recordView } from '../../src/core/editor/recordView';
import { textOverlay } from '../../src/core/editor/textOverlay';
import { relationSetFromRelInfo } from '../../src/core/formats/docred';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { RelRecord } from '../../src/core/schema';

const rs = relationSetFromRelInfo({ P577: 'publication date', P17: 'country' });
const record: RelRecord = {
  id: 'doc-1',
  text: 'Loud was released in 2010 in London.',
  entities: [
    { id: 'e0', name: 'Loud', type: 'MISC', mentions: [{ start: 0, end: 4 }] },
    { id: 'e1', name: '2010', type: 'TIME', mentions: [{ start: 21, end: 25 }] },
  ],
  relations: [{ head: 'e0', tail: 'e1', label: 'P577', source: 'gold' }],
};

describe('relation names, not ids', () => {
  it('names the ids of a set whose labels carry ids; other labels stay as they are', () => {
    assert.deepEqual(labelNames(rs), { P577: 'publication date', P17: 'country' });
    const n = labelNamer(rs);
    assert.equal(n('P577'), 'publication date');
    assert.equal(n('publication date'), 'publication date');
    assert.equal(n('P999'), 'P999');
    assert.equal(labelNamer(SEMEVAL_RELATIONS)('Cause-Effect'), 'Cause-Effect');
    assert.deepEqual(labelNames(undefined), {});
  });

  it('the record view and the inline triples show the name; the label itself stays the id', () => {
    const v = recordView(record, null, labelNamer(rs));
    assert.equal(v.triples[0]!.label, 'P577');
    assert.match(v.triples[0]!.text, /Loud —publication date→ 2010/);
    const d = lineDecorations(JSON.stringify(record), new RecordLineCache(), null, labelNamer(rs));
    assert.match(d!.triples[0]!.text, /—publication date→/);
    const plain = lineDecorations(JSON.stringify(record), new RecordLineCache(), null);
    assert.match(plain!.triples[0]!.text, /—P577→/, 'without a set: as stored');
    // The text overlay (a plain-text file and its sidecar) names them too.
    const sidecar = [{ record: { ...record, meta: { source: { offset: 0 } } }, line: 0 }];
    const o = textOverlay(record.text, sidecar, null, labelNamer(rs));
    assert.match(o.triples[0]!.text, /Loud —publication date→ 2010/);
    assert.match(textOverlay(record.text, sidecar, null).triples[0]!.text, /—P577→/);
  });

  it('a label picked by name is stored as the record stores labels (ids stay ids)', () => {
    assert.equal(storedLabel(rs, record)('country'), 'P17');
    const named = { relations: [{ ...record.relations[0]!, label: 'publication date' }] };
    assert.equal(storedLabel(rs, named)('country'), 'country');
    assert.equal(storedLabel(SEMEVAL_RELATIONS, record)('Cause-Effect'), 'Cause-Effect');
  });

  it("guidelines at hand: a label's description, examples and Markdown guideline in the pick (one line) and the hover", () => {
    const v = validateRelationSet({
      name: 'jobs',
      noRelation: 'none',
      labels: [
        {
          name: 'employer',
          id: 'P108',
          description: 'the head works for the tail',
          examples: ['Ada works for Acme.'],
          guideline:
            '## When\n\n- *paid* work only, not **volunteering**\n- see [Wikidata](https://www.wikidata.org/wiki/Property:P108)',
        },
        { name: 'founded' },
      ],
    });
    assert.ok(v.ok, JSON.stringify(v));
    const set = v.ok ? v.value : undefined;
    assert.equal(labelInfo(set, 'P108')?.name, 'employer');
    assert.equal(
      labelDetail(labelInfo(set, 'employer')),
      'the head works for the tail — e.g. “Ada works for Acme.” — When paid work only, not volunteering see Wikidata',
    );
    assert.equal(labelDetail(labelInfo(set, 'founded')), undefined);
    assert.equal(plainText('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
    const md = guidelinesMarkdown(set, ['P108', 'employer', 'founded', 'unknown']);
    assert.equal(
      md.match(/\*\*employer\*\* \(P108\): the head works for the tail/g)?.length,
      1,
      md,
    );
    assert.match(md, /- _Ada works for Acme\._/);
    assert.match(md, /## When/);
    assert.doesNotMatch(md, /founded/);
    assert.equal(guidelinesMarkdown(undefined, ['P108']), '');
  });
});
