/** A progress bar on stderr for long reads; silent when stderr is not a terminal (CI, pipes). */
import { SingleBar, Presets } from 'cli-progress';

export class ProgressBar {
  private bar: SingleBar | undefined;
  private started = false;
  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    if (!process.stderr.isTTY || total < 8 * 1024 * 1024) return; // only for large files
    if (!this.started) {
      this.bar = new SingleBar(
        {
          format: `${this.label} [{bar}] {percentage}% | {value}/{total} MB`,
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
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

/** A progress bar of examples with their rate (examples/s); silent when stderr is not a terminal. */
export class RateBar {
  private bar: SingleBar | undefined;
  constructor(
    private readonly label: string,
    private readonly unit = 'examples',
  ) {}

  update(done: number, total: number, elapsedMs: number): void {
    if (!process.stderr.isTTY) return;
    if (!this.bar) {
      this.bar = new SingleBar(
        {
          format: `${this.label} [{bar}] {value}/{total} ${this.unit} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(total, 0, { rate: '0.00' });
    }
    this.bar.update(done, {
      rate: elapsedMs > 0 ? ((1000 * done) / elapsedMs).toFixed(2) : '0.00',
    });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
