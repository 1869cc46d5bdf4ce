/** The record view's model and the curator's edits (core/editor/recordView.ts). */
import { strict as assert } from 'node:assert';
import {
  addEntity,
  addRelation,
  arcMentions,
  deleteRelation,
  isReviewed,
  labelsForPair,
  recordView,
  snapSpan,
  textSegments,
} from '../../src/core/editor/recordView';
import { RelRecord, RelationSet, validateRecord } from '../../src/core/schema';
import { loadRecords } from '../../src/node/load';
import { RecordViewSchema, recordItem } from '../../src/protocol/recordView';
import { dataset, requireShared } from '../helpers/shared';

const REC: RelRecord = {
  id: 's1',
  text: 'The burst has been caused by water hammer pressure.',
  entities: [
    { id: 'e1', name: 'burst', mentions: [{ start: 4, end: 9 }] },
    { id: 'e2', name: 'pressure', mentions: [{ start: 42, end: 50 }] },
  ],
  relations: [
    { head: 'e2', tail: 'e1', label: 'Cause-Effect', source: 'gold' },
    {
      head: 'e2',
      tail: 'e1',
      label: 'Cause-Effect',
      source: 'model',
      score: 0.7,
      status: 'pending',
    },
    { head: 'e1', tail: 'e2', label: 'Other', source: 'model', score: 0.2, status: 'rejected' },
  ],
};

const RS: RelationSet = {
  name: 't',
  noRelation: 'Other',
  directed: true,
  labels: [
    { name: 'founded_by', headTypes: ['ORG'], tailTypes: ['PER'] },
    { name: 'located_in', headTypes: ['ORG', 'LOC'], tailTypes: ['LOC'] },
    { name: 'related' },
  ],
};

describe('record view (core)', () => {
  it('cuts the text at mentions, keeping offsets; overlapping mentions keep the first', () => {
    const s = textSegments(REC);
    assert.equal(s.map((x) => x.text).join(''), REC.text);
    assert.deepEqual(
      s.filter((x) => x.entity !== undefined).map((x) => [x.text, x.entity, x.start]),
      [
        ['burst', 0, 4],
        ['pressure', 1, 42],
      ],
    );
    const overlap: RelRecord = {
      ...REC,
      entities: [
        ...REC.entities,
        { id: 'e3', name: 'hammer pressure', mentions: [{ start: 35, end: 50 }] },
      ],
    };
    const o = textSegments(overlap);
    assert.equal(o.map((x) => x.text).join(''), REC.text);
    assert.deepEqual(
      o.filter((x) => x.entity !== undefined).map((x) => x.text),
      ['burst', 'hammer pressure'],
    );
  });

  it('shows relations by status, rejected ones struck through, and counts what is left to review', () => {
    const v = recordView(REC, 'Other');
    assert.equal(v.pending, 1);
    assert.equal(v.reviewed, false);
    assert.deepEqual(
      v.triples.map((t) => [t.relation, t.status, t.decision ?? '', t.head, t.tail]),
      [
        [1, 'agree', 'pending', 1, 0],
        [2, 'prediction', 'rejected', 0, 1],
      ],
    );
    assert.match(v.triples[1]!.text, /✗$/);
    assert.deepEqual(v.sources.sort(), ['gold', 'model']);
    assert.equal(isReviewed({ ...REC, relations: REC.relations.slice(0, 1) }), true);
  });

  it('offers the labels whose types admit the pair, plus the no-relation label', () => {
    assert.deepEqual(labelsForPair(RS, 'ORG', 'PER'), ['founded_by', 'related', 'Other']);
    assert.deepEqual(labelsForPair(RS, 'ORG', 'LOC'), ['located_in', 'related', 'Other']);
    assert.deepEqual(labelsForPair(RS, null, null), [
      'founded_by',
      'located_in',
      'related',
      'Other',
    ]);
  });

  it('adds and deletes relations; added entities snap to words and stay valid records', () => {
    const added = addRelation(REC, { head: 'e1', tail: 'e2', label: 'related' });
    assert.deepEqual(added.relations.at(-1), {
      head: 'e1',
      tail: 'e2',
      label: 'related',
      source: 'human',
      status: 'accepted',
    });
    assert.throws(() => addRelation(REC, { head: 'e1', tail: 'zz', label: 'x' }), /no entity zz/);
    assert.equal(deleteRelation(added, 3).relations.length, 3);
    // "ater hamm" snaps to "water hammer".
    const start = REC.text.indexOf('ater');
    const { record, entity } = addEntity(REC, { start, end: start + 9 });
    const e = record.entities.find((x) => x.id === entity)!;
    assert.equal(e.name, 'water hammer');
    assert.ok(validateRecord(record).ok);
    // The same span again: no second entity.
    const again = addEntity(record, { start: e.mentions[0]!.start, end: e.mentions[0]!.end });
    assert.equal(again.entity, entity);
    assert.equal(again.record.entities.length, 3);
    assert.throws(() => addEntity(REC, { start: 3, end: 4 }), /no text/);
  });

  it('snaps spans in Chinese per character and never splits a surrogate pair', () => {
    assert.deepEqual(snapSpan('马云创办了阿里巴巴。', 5, 9), { start: 5, end: 9 });
    const t = 'a 😀b c';
    // Offset 3 is the low half of the emoji: the span widens to keep the pair whole.
    const s = snapSpan(t, 3, 5);
    assert.equal(t.slice(s.start, s.end), '😀b');
  });

  it('shows Re-DocRED documents whole: every sentence numbered, every mention, arcs where the relation is stated', async function () {
    const dev = dataset('redocred', 'dev_revised.json');
    const relInfo = dataset('redocred', 'rel_info.json');
    requireShared(this, dev, relInfo);
    const { records } = await loadRecords(dev, { relInfo });
    let withEvidence = 0;
    for (const r of records.slice(0, 100)) {
      const v = recordView(r);
      assert.ok(RecordViewSchema.safeParse(v).success, r.id);
      // The segments put back together are the text; each sentence's start is marked once.
      assert.equal(v.segments.map((s) => s.text).join(''), r.text, r.id);
      const marked = v.segments.filter((s) => s.sentence !== undefined);
      assert.deepEqual(
        marked.map((s) => s.start),
        r.sentences!.map((s) => s.start),
        r.id,
      );
      assert.deepEqual(
        marked.map((s) => s.sentence),
        r.sentences!.map((_, i) => i),
      );
      // Every mention is on screen: its own segment, or (a mention overlapping another) inside
      // the one kept.
      const shown = v.segments.filter((s) => s.entity !== undefined);
      for (const e of r.entities)
        for (const m of e.mentions)
          assert.ok(
            shown.some((s) => s.start < m.end && m.start < s.start + s.text.length),
            `${r.id}: ${e.name} at ${m.start}`,
          );
      // Every relation gets an arc between a mention of its head and one of its tail; where the
      // relation has evidence and both are shown in an evidence sentence, the arc is there.
      for (const t of v.triples) {
        const rel = r.relations[t.relation]!;
        if (!t.at) {
          // Only when every mention of one of them lies under another entity's mention.
          const hidden = (e: number) => !shown.some((s) => s.entity === e);
          assert.ok(hidden(t.head) || hidden(t.tail), `${r.id} relation ${t.relation}: no arc`);
          continue;
        }
        const [hm, tm] = t.at;
        const h = r.entities[t.head]!.mentions[hm]!;
        const tl = r.entities[t.tail]!.mentions[tm]!;
        const ev = new Set(rel.evidence ?? []);
        // (Of the mentions on screen: one nested in another entity's mention is not.)
        const named = (e: number, s: number) =>
          shown.some((x) => x.entity === e && r.entities[e]!.mentions[x.mention!]!.sent === s);
        const both = [...ev].some((s) => named(t.head, s) && named(t.tail, s));
        if (both) {
          withEvidence++;
          assert.ok(h.sent === tl.sent && ev.has(h.sent!), `${r.id} relation ${t.relation}`);
        }
      }
    }
    assert.ok(withEvidence > 100, `only ${withEvidence} relations with evidence checked`);
  });

  it('joins the closest mentions when no sentence holds both', () => {
    const doc: RelRecord = {
      id: 'd',
      text: 'Ann met Bob. Later Bob left. Ann stayed.',
      sentences: [
        { start: 0, end: 12 },
        { start: 13, end: 28 },
        { start: 29, end: 40 },
      ],
      entities: [
        {
          id: 'a',
          name: 'Ann',
          mentions: [
            { start: 0, end: 3, sent: 0 },
            { start: 29, end: 32, sent: 2 },
          ],
        },
        {
          id: 'b',
          name: 'Bob',
          mentions: [
            { start: 8, end: 11, sent: 0 },
            { start: 19, end: 22, sent: 1 },
          ],
        },
      ],
      relations: [],
    };
    const all = () => true;
    // Sentence 0 holds both.
    assert.deepEqual(arcMentions(doc, { head: 'a', tail: 'b' }, all), [0, 0]);
    // Without the first mention of Ann shown, no sentence holds both: the closest pair (19, 29).
    assert.deepEqual(
      arcMentions(doc, { head: 'a', tail: 'b' }, (e, m) => !(e === 0 && m === 0)),
      [1, 1],
    );
    assert.equal(arcMentions(doc, { head: 'a', tail: 'zz' }, all), undefined);
    // Plain text is cut at each sentence start.
    assert.deepEqual(
      textSegments(doc).map((s) => [s.text, s.sentence]),
      [
        ['Ann', 0],
        [' met ', undefined],
        ['Bob', undefined],
        ['. ', undefined],
        ['Later ', 1],
        ['Bob', undefined],
        [' left. ', undefined],
        ['Ann', 2],
        [' stayed.', undefined],
      ],
    );
  });

  it('travels as JSON text that parses back to the same view, in the form that takes fewer bytes in a JS heap', async function () {
    const file = dataset('finre', 'test.txt');
    requireShared(this, file);
    const { records } = await loadRecords(file);
    // A JS heap keeps a string one byte a character when all are Latin-1, else two.
    const latin1 = (s: string) => Array.from(s).every((c) => c.charCodeAt(0) <= 0xff);
    const bytes = (s: string) => (latin1(s) ? s.length : 2 * s.length);
    const long = '据报道，公司董事会决定收购该集团的全部股份。'.repeat(100);
    const chinese = recordView({ ...REC, text: long, entities: [], relations: [] });
    const views = [
      recordView(REC),
      // Arrows, dashes, an emoji and a lone surrogate in a mostly Latin-1 record.
      recordView({ ...REC, id: 's1 — 😀 \uD800 é' }),
      chinese,
      ...records.slice(0, 20).map((r) => recordView(r)),
    ];
    for (const v of views) {
      const it = recordItem(7, v);
      assert.equal(it.line, 7);
      assert.equal(it.reviewed, v.reviewed);
      assert.deepEqual(JSON.parse(it.view), v, v.id);
      assert.ok(bytes(it.view) <= bytes(JSON.stringify(v)), v.id);
    }
    // The short records escaped to one byte a character; the long Chinese text left as it is.
    for (const v of [views[0]!, views[1]!, views[3]!])
      assert.equal(bytes(recordItem(0, v).view), recordItem(0, v).view.length, v.id);
    assert.equal(recordItem(0, chinese).view, JSON.stringify(chinese));
  });
});
