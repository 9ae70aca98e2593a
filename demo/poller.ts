/**
 * Reads the KV state while tokens stream, at most every `intervalMs` and one read at a time: each
 * read is a GPU readback that waits its turn behind decode steps, so reading per token would slow
 * generation down and queue up stale pictures.
 */
export class Poller {
  private inFlight: Promise<void> | null = null;
  private last = -Infinity;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly intervalMs = 250,
  ) {}

  /** Reads if the last read is done and old enough; never waits. */
  poke(): void {
    if (this.inFlight || performance.now() - this.last < this.intervalMs) return;
    void this.run();
  }

  /** Reads now (after any read in flight): the final picture at the end of a generation. */
  async flush(): Promise<void> {
    await this.inFlight;
    await this.run();
  }

  private run(): Promise<void> {
    this.last = performance.now();
    this.inFlight = this.read()
      .catch(() => {})
      .finally(() => (this.inFlight = null));
    return this.inFlight;
  }
}
