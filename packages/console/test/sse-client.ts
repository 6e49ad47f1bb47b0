/** A server-sent event as read by {@link readEvents}. */
export interface ServerEvent {
  event: string;
  data: string;
}

/**
 * Reads a server-sent event stream with plain `fetch` (an independent reader,
 * not the browser's EventSource) and calls `onEvent` for each event; returns
 * a function that closes the stream.
 */
export async function readEvents(
  url: string,
  onEvent: (event: ServerEvent) => void,
): Promise<() => void> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) onEvent({ event, data: data.join('\n') });
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by the caller.
    }
  })();
  return () => controller.abort();
}

/** Resolves when `check` returns true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}
