/**
 * How many cores other processes keep busy, from the machine's CPU times (os.cpus(), i.e.
 * /proc/stat on Linux) minus this process's own (process.cpuUsage(), every thread of it,
 * llama.cpp's workers included). The adaptive thread policy of the engine uses it: llama.cpp's
 * worker threads meet at a barrier after every operation, so a worker that loses its core to
 * another process stalls all the others (they spin, then sleep), and a run beside a busy process
 * gets less than its share of the CPU. Using only the cores nobody else is using avoids that.
 */
import * as os from 'node:os';

interface Sample {
  /** CPU time of all cores, busy and total (ms). */
  busy: number;
  total: number;
  /** This process's CPU time (ms). */
  own: number;
  /** Wall clock (ms). */
  at: number;
}

function sample(): Sample {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  const u = process.cpuUsage();
  return { busy, total, own: (u.user + u.system) / 1000, at: Date.now() };
}

export class CpuLoad {
  private last = sample();

  /**
   * Cores other processes kept busy since the last call (or since construction): the machine's
   * busy time minus this process's, per wall-clock time; 0 when no time has passed.
   */
  othersBusyCores(): number {
    const now = sample();
    const wall = now.at - this.last.at;
    const busy = now.busy - this.last.busy;
    const own = now.own - this.last.own;
    this.last = now;
    if (wall <= 0) return 0;
    return Math.max(0, (busy - own) / wall);
  }
}

/** The threads to use: the cores nobody else keeps busy, rounded, at least 1 and at most `max`. */
export function freeCoreThreads(cores: number, othersBusy: number, max: number): number {
  return Math.max(1, Math.min(max, Math.round(cores - othersBusy)));
}
