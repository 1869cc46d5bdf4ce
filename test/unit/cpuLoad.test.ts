/** The adaptive thread policy's inputs: the cores other processes keep busy, and the threads that leaves. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { CpuLoad, freeCoreThreads } from '../../src/engine/cpuLoad';
import { LlamaEngine, getLlamaInstance } from '../../src/engine/llama';
import { smolLM2 } from '../helpers/models';

describe('CPU load (adaptive threads)', () => {
  it('threads: the cores others leave free, rounded, between 1 and the maximum', () => {
    assert.equal(freeCoreThreads(2, 0, 2), 2);
    assert.equal(freeCoreThreads(2, 0.3, 2), 2);
    assert.equal(freeCoreThreads(2, 1, 2), 1);
    assert.equal(freeCoreThreads(2, 3, 2), 1);
    assert.equal(freeCoreThreads(8, 1.6, 4), 4);
    assert.equal(freeCoreThreads(8, 6.4, 4), 2);
  });

  it('a busy child process counts as another process; this process does not', async function () {
    this.timeout(20_000);
    const load = new CpuLoad();
    const child = spawn(process.execPath, [
      '-e',
      'const t = Date.now(); while (Date.now() - t < 1500) {}',
    ]);
    try {
      await new Promise((r) => setTimeout(r, 1200));
      const others = load.othersBusyCores();
      assert.ok(
        others >= 0.5,
        `a spinning child should show as ≥ 0.5 busy cores, got ${others.toFixed(2)}`,
      );
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 400));
    load.othersBusyCores();
    // What the rest of the machine does meanwhile (another job on a shared runner) is measured
    // over as long a window first, so only this process's own spinning is judged.
    await new Promise((r) => setTimeout(r, 800));
    const before = load.othersBusyCores();
    const t = Date.now();
    while (Date.now() - t < 800); // this process spins on one core
    const own = load.othersBusyCores();
    assert.ok(
      own - before < 0.75,
      `this process's own work should not count as others', got ${own.toFixed(2)} (${before.toFixed(2)} before it spun)`,
    );
  });
});

describe('thread budget (adaptive and fixed engines in one process, real model)', () => {
  it('a fixed-thread engine opened beside an adaptive one under load gets all its threads and never stalls; the budget comes back', async function () {
    this.timeout(180_000);
    const model = smolLM2(this);
    const llama = await getLlamaInstance();
    const original = llama.maxThreads;
    const busy = Array.from({ length: 2 }, () => spawn(process.execPath, ['-e', 'for(;;){}']));
    const adaptive = await LlamaEngine.open({ modelPath: model, parallel: 1 });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(llama.maxThreads <= original, 'the adaptive engine never raises the budget');
      const fixed = await LlamaEngine.open({
        modelPath: model,
        parallel: 1,
        threadPolicy: 'fixed',
      });
      try {
        assert.equal(
          llama.maxThreads,
          original,
          'a fixed engine holds the budget at its original value',
        );
        assert.equal(fixed.info.threads, Math.max(1, llama.cpuMathCores));
        const text = await fixed.withPrompt({ user: 'Say yes.' }, (s) => s.generateFree(4));
        assert.equal(typeof text, 'string');
      } finally {
        await fixed.dispose();
      }
    } finally {
      for (const b of busy) b.kill('SIGKILL');
      await adaptive.dispose();
    }
    assert.equal(llama.maxThreads, original, 'the budget is restored when the engines are gone');
  });
});
