/** A progress bar on stderr for long reads; silent when stderr is not a terminal (CI, pipes). */
import { SingleBar, Presets } from 'cli-progress';

export class ProgressBar {
  private bar: SingleBar | undefined;
  private started = false;
  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    if (!process.stderr.isTTY || total < 8 * 1024 * 1024) return; // only for large files
    if (!this.started) {
      this.bar = new SingleBar({ format: `${this.label} [{bar}] {percentage}% | {value}/{total} MB`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
      this.bar.start(Math.ceil(total / 1e6), 0);
      this.started = true;
    }
    this.bar?.update(Math.floor(done / 1e6));
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
