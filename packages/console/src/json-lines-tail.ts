import { open, stat } from 'node:fs/promises';

/** What a {@link JsonLinesTail} delivers to a listener. */
export type TailUpdate =
  /** New complete lines, parsed; a line that is not JSON arrives as `{ kind: 'unreadable-line', line, error }`. */
  | { type: 'records'; records: unknown[] }
  /** The file shrank or was replaced: everything delivered so far is void, the records follow again. */
  | { type: 'reset' };

/**
 * Follows a JSON-lines file as another process appends to it (`tail -f`),
 * by polling its size: it reads only the new bytes, holds back a last line
 * with no newline yet (a write in progress), and starts over when the file
 * shrinks. One tail serves any number of listeners, so ten browser tabs
 * watching a run cost one read per poll. A missing file is waited for.
 *
 * Polling rather than `fs.watch`: watch events are lost on network and
 * container file systems, and the trainer never has to know that anybody
 * watches.
 *
 * @example
 * ```ts
 * const tail = new JsonLinesTail({ file: 'runs/x/metrics.jsonl', pollMs: 200 });
 * const stop = tail.subscribe((update) => console.log(update));
 * ```
 */
export class JsonLinesTail {
  readonly file: string;
  readonly pollMs: number;
  private records: unknown[] = [];
  private offset = 0;
  private remainder: Buffer = Buffer.alloc(0);
  private identity = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<(update: TailUpdate) => void>();
  private polling: Promise<void> | undefined;

  constructor(options: { file: string; pollMs: number }) {
    this.file = options.file;
    this.pollMs = options.pollMs;
  }

  /** Every record read so far. */
  snapshot(): readonly unknown[] {
    return this.records;
  }

  /**
   * Reads what is new now, then calls `listener` with the backlog (one
   * `records` update) and every later change, until the returned function is
   * called. Polling runs while anybody listens.
   */
  async subscribe(listener: (update: TailUpdate) => void): Promise<() => void> {
    await this.poll();
    listener({ type: 'records', records: [...this.records] });
    this.listeners.add(listener);
    this.schedule();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Reads the new bytes now (also what each poll does); concurrent calls share one read. */
  poll(): Promise<void> {
    this.polling ??= this.read().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.poll().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.pollMs);
  }

  private emit(update: TailUpdate): void {
    for (const listener of this.listeners) listener(update);
  }

  private async read(): Promise<void> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const identity = `${info.dev}:${info.ino}`;
    if (info.size < this.offset || (this.identity !== '' && identity !== this.identity)) {
      this.records = [];
      this.offset = 0;
      this.remainder = Buffer.alloc(0);
      this.emit({ type: 'reset' });
    }
    this.identity = identity;
    if (info.size === this.offset) return;
    const handle = await open(this.file, 'r');
    let bytes: Buffer;
    try {
      const length = info.size - this.offset;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.offset);
      this.offset += bytesRead;
      bytes = Buffer.concat([this.remainder, buffer.subarray(0, bytesRead)]);
    } finally {
      await handle.close();
    }
    // Bytes after the last newline are a line still being written; cutting at a
    // newline byte never splits a UTF-8 character.
    const end = bytes.lastIndexOf(0x0a) + 1;
    this.remainder = bytes.subarray(end);
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    const fresh: unknown[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        fresh.push(JSON.parse(line));
      } catch (error) {
        fresh.push({ kind: 'unreadable-line', line: line.slice(0, 200), error: String(error) });
      }
    }
    if (fresh.length === 0) return;
    this.records.push(...fresh);
    this.emit({ type: 'records', records: fresh });
  }
}
