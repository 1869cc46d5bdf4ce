/**
 * Graceful Ctrl-C for long commands. The listener stays installed for the whole run (`on`, not
 * `once`): node-llama-cpp's lockfile dependency (signal-exit) re-raises SIGINT when it finds no
 * other listener, which killed the process at the first Ctrl-C. The first SIGINT/SIGTERM aborts
 * the run (the caller keeps what finished); a second one exits at once (130) — outputs are
 * appended one complete record per write, and the exit hook removes the output locks.
 */
export function onInterrupt(controller: AbortController, message: string): () => void {
  const handler = (): void => {
    if (controller.signal.aborted) {
      process.stderr.write('\ninterrupted again: stopping now\n');
      process.exit(130);
    }
    process.stderr.write(`\ninterrupted: ${message}\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
