/**
 * A pool of interchangeable resources (an engine's sequences or server slots): `acquire` waits
 * for one, first come first served, and gives up with AbortError when its signal fires.
 */
import { AbortError } from '../ports';

export class ResourcePool<T> {
  private readonly free: T[];
  private readonly waiters: Array<(r: T) => void> = [];

  /** `items` are handed out from the end first. */
  constructor(items: T[]) {
    this.free = [...items];
  }

  acquire(signal?: AbortSignal): Promise<T> {
    if (this.free.length) return Promise.resolve(this.free.pop()!);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(take);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new AbortError());
      };
      const take = (r: T) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(take);
    });
  }

  release(r: T): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else this.free.push(r);
  }
}
