/**
 * A generation in progress: iterate it for its chunks as they are produced, or await `result` for
 * the whole of it. It runs whether or not anyone iterates (like a network stream); a failure
 * (abort, lost device) rejects `result` and ends the iteration with the same error.
 */
export class GenerationStream<Chunk, Result> implements AsyncIterable<Chunk> {
  readonly result: Promise<Result>;
  private readonly queue: Chunk[] = [];
  private wake: (() => void) | null = null;
  private finished = false;

  constructor(run: (emit: (chunk: Chunk) => void) => Promise<Result>) {
    const emit = (chunk: Chunk) => {
      this.queue.push(chunk);
      this.wake?.();
    };
    this.result = run(emit).finally(() => {
      this.finished = true;
      this.wake?.();
    });
    // Iterating callers see the error there; callers who only iterate must not get an unhandled rejection.
    this.result.catch(() => {});
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
    for (;;) {
      if (this.queue.length) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.finished) {
        await this.result;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}
