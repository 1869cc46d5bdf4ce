import { strict as assert } from 'node:assert';
import { importChineseTsv, parseRelation2Id } from '../../src/core/formats/chineseTsv';
import { codePointOffsets, utf16ToCodePoint } from '../../src/core/formats/common';
import { exportDoccano, importDoccano } from '../../src/core/formats/doccano';
import { importDocRed, toDocRedSubmission } from '../../src/core/formats/docred';
import { importLabelStudio } from '../../src/core/formats/labelStudio';
import {
  exportSemEvalAnswers,
  exportSemEvalTxt,
  importSemEval,
  parseSemEvalLabel,
} from '../../src/core/formats/semeval';
import { importTacred } from '../../src/core/formats/tacred';
import { linesOf } from '../helpers/lines';

const SEMEVAL = [
  '8001\t"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."',
  'Message-Topic(e1,e2)',
  'Comment: Assuming an audit = an audit document.',
  '',
  '8005\t"Avian <e1>influenza</e1> is caused by the <e2>virus</e2>."',
  'Cause-Effect(e2,e1)',
  'Comment:',
  '',
  '8010\t"A <e1>cat</e1> and a <e2>dog</e2>."',
  'Other',
  'Comment:',
  '',
].join('\r\n');

describe('formats', () => {
  describe('SemEval-2010 Task 8', () => {
    it('reads blocks, strips markers, and encodes direction in head/tail', async () => {
      const r = await importSemEval(linesOf(SEMEVAL), 'TEST_FILE_FULL.TXT');
      assert.equal(r.records.length, 3);
      assert.equal(r.diagnostics.length, 0);
      const [a, b, c] = r.records as [
        (typeof r.records)[0],
        (typeof r.records)[0],
        (typeof r.records)[0],
      ];
      assert.equal(a.id, 'semeval-test-8001');
      assert.equal(a.text, 'The most common audits were about waste and recycling.');
      assert.deepEqual(
        a.entities.map((e) => [e.name, e.mentions[0]]),
        [
          ['audits', { start: 16, end: 22 }],
          ['waste', { start: 34, end: 39 }],
        ],
      );
      assert.deepEqual(a.relations, [
        { head: 'e1', tail: 'e2', label: 'Message-Topic', source: 'gold' },
      ]);
      assert.deepEqual(b.relations, [
        { head: 'e2', tail: 'e1', label: 'Cause-Effect', source: 'gold' },
      ]);
      assert.deepEqual(c.relations, []);
      assert.deepEqual(c.pairs, [['e1', 'e2']]);
      assert.equal(
        exportSemEvalAnswers(r.records),
        '8001\tMessage-Topic(e1,e2)\n8005\tCause-Effect(e2,e1)\n8010\tOther\n',
      );
    });

    it('writes the TXT release format back byte for byte', async () => {
      const r = await importSemEval(linesOf(SEMEVAL), 'TEST_FILE_FULL.TXT');
      assert.equal(exportSemEvalTxt(r.records), SEMEVAL + '\r\n');
    });

    it('reports a bad label or a missing marker with its line and keeps the other blocks', async () => {
      const text = SEMEVAL.replace('Cause-Effect(e2,e1)', 'Cause-Effect(e2,e2)').replace(
        '<e1>cat</e1>',
        'cat',
      );
      const r = await importSemEval(linesOf(text), 'x.txt');
      assert.equal(r.records.length, 1);
      assert.equal(r.skipped, 2);
      assert.deepEqual(
        r.diagnostics.map((d) => [d.line, d.severity]),
        [
          [6, 'error'],
          [9, 'error'],
        ],
      );
      assert.match(r.diagnostics[0]!.message, /bad relation label "Cause-Effect\(e2,e2\)"/);
      assert.match(r.diagnostics[1]!.message, /missing <e1>/);
    });

    it('parses labels', () => {
      assert.deepEqual(parseSemEvalLabel('Component-Whole(e2,e1)'), {
        label: 'Component-Whole',
        head: 'e2',
        tail: 'e1',
      });
      assert.equal(parseSemEvalLabel('Other'), null);
      assert.equal(parseSemEvalLabel('Component-Whole'), undefined);
    });
  });

  describe('FinRE / SanWen TSV', () => {
    it('reads relation2id with spaces or TABs and CRLF', () => {
      assert.deepEqual(parseRelation2Id('unknown 0\r\n注资 1\r\n拥有\t2').labels, [
        'unknown',
        '注资',
        '拥有',
      ]);
    });

    it('computes UTF-16 offsets for Chinese text and avoids overlapping head/tail', async () => {
      const text =
        '母亲\t母亲<N>岁时\tunknown\t穷人的孩子早当家，母亲<N>岁时姥姥去世了\n\n东方航空\t上航\t合并\t东方航空AH股临时停牌传将与上航合并\n';
      const r = await importChineseTsv(linesOf(text), 'finre/test.txt', {
        dataset: 'finre',
        labels: ['unknown', '合并'],
      });
      assert.equal(r.records.length, 2);
      const [a, b] = r.records as [(typeof r.records)[0], (typeof r.records)[0]];
      assert.equal(a.id, 'finre-test-1');
      assert.deepEqual(a.relations, []);
      assert.equal(
        a.text.slice(a.entities[0]!.mentions[0]!.start, a.entities[0]!.mentions[0]!.end),
        '母亲',
      );
      assert.equal(b.entities[1]!.mentions[0]!.start, 14);
      assert.deepEqual(b.relations, [{ head: 'e1', tail: 'e2', label: '合并', source: 'gold' }]);
      assert.equal(r.relationSet?.noRelation, 'unknown');
    });

    it('reports wrong TAB counts, unknown labels and entities not in the sentence', async () => {
      const text = [
        '甲\t乙\t合并 甲和乙合并',
        '甲\t乙\t买卖\t甲和乙合并',
        '甲\t丙\t合并\t甲和乙合并',
        '甲\t乙\t合并\t甲和乙合并',
      ].join('\n');
      const r = await importChineseTsv(linesOf(text), 'x.txt', {
        dataset: 'finre',
        labels: ['unknown', '合并'],
      });
      assert.equal(r.records.length, 1);
      assert.deepEqual(
        r.diagnostics.map((d) => d.line),
        [1, 2, 3],
      );
      assert.match(r.diagnostics[0]!.message, /expected 4 TAB-separated fields .* found 3/);
      assert.match(r.diagnostics[1]!.message, /not in relation2id/);
      assert.match(r.diagnostics[2]!.message, /tail entity "丙" does not occur/);
    });
  });

  describe('TACRED JSON', () => {
    const ex = [
      {
        id: 'a1',
        token: ['Tom', 'Thabane', 'resigned', 'from', 'the', 'ABC', '-LRB-', 'party', '-RRB-', '.'],
        subj_start: 0,
        subj_end: 1,
        obj_start: 5,
        obj_end: 5,
        subj_type: 'PERSON',
        obj_type: 'ORGANIZATION',
        relation: 'per:employee_of',
      },
      {
        id: 'a2',
        token: ['He', 'lives', 'in', 'Paris'],
        subj_start: 0,
        subj_end: 0,
        obj_start: 3,
        obj_end: 3,
        subj_type: 'PERSON',
        obj_type: 'CITY',
        relation: 'no_relation',
      },
      {
        id: 'a3',
        token: ['x'],
        subj_start: 0,
        subj_end: 3,
        obj_start: 0,
        obj_end: 0,
        relation: 'no_relation',
      },
    ];
    it('converts inclusive token spans to character offsets; subject is the head', () => {
      const r = importTacred(JSON.stringify(ex, null, 1), 'tacred.json');
      assert.equal(r.records.length, 2);
      const [a, b] = r.records as [(typeof r.records)[0], (typeof r.records)[0]];
      assert.deepEqual(
        a.entities.map((e) => [e.name, e.type]),
        [
          ['Tom Thabane', 'PERSON'],
          ['ABC', 'ORGANIZATION'],
        ],
      );
      assert.deepEqual(a.relations, [
        { head: 'e1', tail: 'e2', label: 'per:employee_of', source: 'gold' },
      ]);
      assert.deepEqual(b.relations, []);
      assert.equal(r.relationSet?.noRelation, 'no_relation');
      assert.equal(r.skipped, 1);
      assert.match(r.diagnostics[0]!.message, /out of range/);
      assert.ok(
        r.diagnostics[0]!.line > 1,
        'the error names the line where the bad example starts',
      );
    });
  });

  describe('doccano relation JSONL', () => {
    it('converts code-point offsets (Python) to UTF-16 offsets', async () => {
      const text = '😀 Alice works at 🏢 Acme';
      // code points: 😀=0, space=1, Alice=2..7, ..., 🏢=17, space=18, Acme=19..23
      const line = JSON.stringify({
        id: 7,
        text,
        entities: [
          { id: 1, label: 'PER', start_offset: 2, end_offset: 7 },
          { id: 2, label: 'ORG', start_offset: 17, end_offset: 23 },
        ],
        relations: [{ id: 1, from_id: 1, to_id: 2, type: 'works_at' }],
      });
      const r = await importDoccano(linesOf(line + '\n'), 'd.jsonl');
      assert.equal(r.records.length, 1, JSON.stringify(r.diagnostics));
      const rec = r.records[0]!;
      assert.deepEqual(
        rec.entities.map((e) => e.name),
        ['Alice', '🏢 Acme'],
      );
      assert.deepEqual(rec.entities[1]!.mentions[0], { start: 18, end: 25 });
      assert.deepEqual(rec.relations, [
        { head: 'e1', tail: 'e2', label: 'works_at', source: 'gold' },
      ]);
      const back = JSON.parse(exportDoccano(r.records));
      assert.deepEqual(
        back.entities.map((e: { start_offset: number; end_offset: number }) => [
          e.start_offset,
          e.end_offset,
        ]),
        [
          [2, 7],
          [17, 23],
        ],
      );
    });

    it('code point ↔ UTF-16 offsets', () => {
      const t = 'a😀b𝄞c';
      const f = codePointOffsets(t);
      assert.deepEqual([0, 1, 2, 3, 4, 5].map(f), [0, 1, 3, 4, 6, 7]);
      assert.deepEqual(
        [0, 1, 3, 4, 6, 7].map((u) => utf16ToCodePoint(t, u)),
        [0, 1, 2, 3, 4, 5],
      );
      assert.equal(f(6), undefined);
    });
  });

  describe('Label Studio JSON export', () => {
    const task = (start: number, end: number) => ({
      id: 42,
      data: { text: '🙂 Marie Curie was born in Warsaw.' },
      annotations: [
        { was_cancelled: true, result: [] },
        {
          result: [
            {
              id: 'r1',
              type: 'labels',
              from_name: 'label',
              to_name: 'text',
              value: { start, end, text: 'Marie Curie', labels: ['PER'] },
            },
            {
              id: 'r2',
              type: 'labels',
              from_name: 'label',
              to_name: 'text',
              value: { start: start + 24, end: end + 19, text: 'Warsaw', labels: ['LOC'] },
            },
            {
              type: 'relation',
              from_id: 'r1',
              to_id: 'r2',
              direction: 'right',
              labels: ['born_in'],
            },
            { type: 'relation', from_id: 'r1', to_id: 'r2', direction: 'bi', labels: [] },
          ],
        },
      ],
    });
    it('reads regions (code-point offsets) and relations with direction', () => {
      const r = importLabelStudio(JSON.stringify([task(2, 13)]), 'ls.json');
      assert.equal(r.records.length, 1, JSON.stringify(r.diagnostics));
      const rec = r.records[0]!;
      assert.equal(rec.id, '42');
      assert.deepEqual(
        rec.entities.map((e) => [e.name, e.type, e.mentions[0]!.start]),
        [
          ['Marie Curie', 'PER', 3],
          ['Warsaw', 'LOC', 27],
        ],
      );
      assert.deepEqual(
        rec.relations.map((x) => `${x.head}-${x.label}-${x.tail}`),
        ['e1-born_in-e2', 'e1-related-e2', 'e2-related-e1'],
      );
      assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && /no label/.test(d.message)));
    });
    it('accepts UTF-16 offsets of older releases when the span text proves them, with a warning', () => {
      const r = importLabelStudio(JSON.stringify([task(3, 14)]), 'ls.json');
      assert.equal(r.records.length, 1);
      assert.ok(r.diagnostics.some((d) => /UTF-16 offsets/.test(d.message)));
    });
    it('rejects a task whose offsets select other text', () => {
      const r = importLabelStudio(JSON.stringify([task(5, 16)]), 'ls.json');
      assert.equal(r.records.length, 0);
      assert.match(r.diagnostics.map((d) => d.message).join(), /do not select "Marie Curie"/);
    });
  });

  describe('DocRED JSON', () => {
    const doc = {
      title: 'Paris',
      sents: [
        ['Paris', 'is', 'the', 'capital', 'of', 'France', '.'],
        ['It', 'lies', 'on', 'the', 'Seine', '.'],
      ],
      vertexSet: [
        [
          { name: 'Paris', pos: [0, 1], sent_id: 0, type: 'LOC' },
          { name: 'It', pos: [0, 1], sent_id: 1, type: 'LOC' },
        ],
        [{ name: 'France', pos: [5, 6], sent_id: 0, type: 'LOC' }],
        [{ name: 'Seine', pos: [4, 5], sent_id: 1, type: 'LOC' }],
      ],
      labels: [
        { r: 'P17', h: 0, t: 1, evidence: [0] },
        { r: 'P206', h: 0, t: 2, evidence: [1] },
      ],
    };
    it('builds text, sentence spans, mentions with sentence ids and aliases', () => {
      const r = importDocRed(JSON.stringify([doc]), 'dev.json', {
        P17: 'country',
        P206: 'located in or next to body of water',
      });
      assert.equal(r.records.length, 1, JSON.stringify(r.diagnostics));
      const rec = r.records[0]!;
      assert.equal(rec.text, 'Paris is the capital of France . It lies on the Seine .');
      assert.deepEqual(rec.sentences, [
        { start: 0, end: 32 },
        { start: 33, end: 55 },
      ]);
      assert.deepEqual(rec.entities[0]!.mentions, [
        { start: 0, end: 5, sent: 0 },
        { start: 33, end: 35, sent: 1, name: 'It' },
      ]);
      assert.deepEqual(rec.relations[0], {
        head: 'e0',
        tail: 'e1',
        label: 'country',
        source: 'gold',
        evidence: [0],
      });
      assert.deepEqual(toDocRedSubmission(r.records, r.relationSet), [
        { title: 'Paris', h_idx: 0, t_idx: 1, r: 'P17', evidence: [0] },
        { title: 'Paris', h_idx: 0, t_idx: 2, r: 'P206', evidence: [1] },
      ]);
    });
    it('keeps the valid documents of a truncated file and names the line', () => {
      const text = JSON.stringify([doc, { ...doc, title: 'B' }], null, 1);
      const cut = text.slice(0, Math.floor(text.length * 0.75));
      const r = importDocRed(cut, 'dev.json');
      assert.equal(r.records.length, 1);
      assert.equal(r.skipped, 1);
      assert.match(r.diagnostics[0]!.message, /truncated/);
      assert.ok(r.diagnostics[0]!.line > 10);
    });
    it('reports an out-of-range mention position', () => {
      const bad = structuredClone(doc);
      bad.vertexSet[2]![0]!.pos = [4, 9];
      const r = importDocRed(JSON.stringify([bad, { ...doc, title: 'ok' }]), 'dev.json');
      assert.deepEqual(
        r.records.map((x) => x.id),
        ['ok'],
      );
      assert.match(r.diagnostics[0]!.message, /vertexSet\[2\]\[0\]: pos \[4,9\] is out of range/);
    });
  });
});
