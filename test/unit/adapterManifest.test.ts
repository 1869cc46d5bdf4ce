/** An adapter's manifest is held against the run before the adapter is applied (no trainer needed). */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RelationSet } from '../../src/core/schema';
import { adapterManifestPath, checkAdapters, readAdapterManifest } from '../../src/node/adapters';
import { textSha256 } from '../../src/node/provenance';

const RS: RelationSet = {
  name: 'toy',
  directed: false,
  noRelation: 'none',
  labels: [{ name: 'founded' }, { name: 'located-in' }],
};

describe('adapter manifests', () => {
  let dir: string;
  let model: string;
  let other: string;
  const adapter = () => path.join(dir, 'a.gguf');
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rl-manifest-'));
    model = path.join(dir, 'base.gguf');
    other = path.join(dir, 'other.gguf');
    writeFileSync(model, Buffer.from('GGUF base model bytes'));
    writeFileSync(other, Buffer.from('GGUF other model byte'));
    writeFileSync(adapter(), Buffer.from('GGUF adapter'));
    const sha = createHash('sha256').update(readFileSync(model)).digest('hex');
    const manifest = {
      kind: 'relation-lens-lora',
      version: 1,
      adapter: 'a.gguf',
      base: {
        path: '/models/base.gguf',
        size: statSync(model).size,
        sha256: sha,
        chatTemplate: 'ChatML',
      },
      relationSet: {
        name: 'toy',
        sha256: textSha256(JSON.stringify(RS)),
        labels: ['founded', 'located-in'],
        noRelation: 'none',
      },
      template: { name: 'default', sha256: 'x' },
      answers: 'codes',
    };
    writeFileSync(adapterManifestPath(adapter()), JSON.stringify(manifest));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the manifest sits beside the adapter and is read', async () => {
    assert.equal(adapterManifestPath('/x/semeval.gguf'), '/x/semeval.manifest.json');
    assert.equal((await readAdapterManifest(adapter()))?.relationSet.name, 'toy');
    assert.equal(await readAdapterManifest(path.join(dir, 'no-manifest.gguf')), undefined);
  });

  it('the same base and relation set pass; another template or answer form is a warning', async () => {
    assert.deepEqual(
      await checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: RS,
        template: { name: 'default' },
        answers: 'codes',
      }),
      [],
    );
    // Another name alone (rel_info.json read as --relations or as --rel-info) is not worth a word.
    assert.deepEqual(
      await checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: { ...RS, name: 'another-name' },
      }),
      [],
    );
    const w = await checkAdapters([{ path: adapter() }], {
      modelPath: model,
      relationSet: {
        ...RS,
        labels: [{ name: 'founded', description: 'x founded y' }, { name: 'located-in' }],
      },
      template: { name: 'rag4re' },
      answers: 'names',
    });
    assert.equal(w.length, 3);
    assert.match(w[0]!, /descriptions differ/);
    assert.match(w[1]!, /trained with the template default, this run uses rag4re/);
    assert.match(
      w[2]!,
      /trained to answer with codes, this run asks for names \(pass --answers codes\)/,
    );
  });

  it('another base model (same size, other bytes) is refused, naming both', async () => {
    await assert.rejects(
      checkAdapters([{ path: adapter() }], { modelPath: other, relationSet: RS }),
      (e: Error) => {
        assert.match(
          e.message,
          /a\.manifest\.json: LoRA adapter .*a\.gguf was trained on the base model base\.gguf \(sha256 [0-9a-f]{12}…\), not on .*other\.gguf \(sha256 [0-9a-f]{12}…\)/,
        );
        return true;
      },
    );
  });

  it('another relation set is refused, naming both', async () => {
    await assert.rejects(
      checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: { ...RS, name: 'semeval', labels: [{ name: 'Cause-Effect' }] },
      }),
      /was trained for another relation set than this run's \(trained for toy, this run semeval: trained with founded, located-in, which this set lacks; this set adds Cause-Effect\)/,
    );
  });

  it('a changed relation set under the same name is refused, naming the labels that differ', async () => {
    const refused = (relationSet: RelationSet) =>
      assert.rejects(checkAdapters([{ path: adapter() }], { modelPath: model, relationSet }));
    await refused({ ...RS, labels: [{ name: 'founded' }] });
    await assert.rejects(
      checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: { ...RS, labels: [{ name: 'founded' }, { name: 'located_in' }] },
      }),
      /\(toy: trained with located-in, which this set lacks; this set adds located_in\)/,
    );
    await assert.rejects(
      checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: { ...RS, labels: [{ name: 'located-in' }, { name: 'founded' }] },
      }),
      /\(toy: the same labels in another order \(first difference at position 1: located-in here, founded when trained\)\)/,
    );
    await assert.rejects(
      checkAdapters([{ path: adapter() }], {
        modelPath: model,
        relationSet: { ...RS, noRelation: 'Other' },
      }),
      /\(toy: no-relation label "Other" here, "none" when trained\)/,
    );
  });

  it('an unreadable manifest is an error naming it; an adapter without one loads as it is', async () => {
    const bad = path.join(dir, 'bad.gguf');
    writeFileSync(adapterManifestPath(bad), '{"kind": ');
    await assert.rejects(
      checkAdapters([{ path: bad }], { modelPath: model }),
      /bad\.manifest\.json: the adapter's manifest is not valid JSON/,
    );
    assert.deepEqual(
      await checkAdapters([{ path: path.join(dir, 'plain.gguf') }], {
        modelPath: model,
        relationSet: RS,
      }),
      [],
    );
  });
});
