import { useEffect, useState } from 'preact/hooks';
import { apiUrl, type MetricsRecord } from './api';

/**
 * The metrics records of each selected run, kept up to date by one
 * server-sent event stream per run (the server tails `metrics.jsonl`).
 * Renders at most every {@link renderIntervalMs} however fast records
 * arrive: every chart redraws on a render, so a burst of thousands of
 * records costs a few redraws, not one per event.
 */
export const renderIntervalMs = 200;

export function useLiveRecords(runIds: readonly string[]): Map<string, MetricsRecord[]> {
  const [version, setVersion] = useState(0);
  const [store] = useState(() => new Map<string, MetricsRecord[]>());
  const key = runIds.join('\n');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        setVersion((value) => value + 1);
      }, renderIntervalMs);
    };
    const sources = runIds.map((id) => {
      const source = new EventSource(apiUrl(`/api/runs/${encodeURIComponent(id)}/metrics/stream`));
      store.set(id, []);
      source.addEventListener('records', (event) => {
        const records = JSON.parse((event as MessageEvent<string>).data) as MetricsRecord[];
        store.get(id)?.push(...records);
        changed();
      });
      source.addEventListener('reset', () => {
        store.set(id, []);
        changed();
      });
      // Reconnecting replays the whole file: start from empty so nothing doubles.
      source.addEventListener('open', () => {
        store.set(id, []);
      });
      return source;
    });
    changed();
    return () => {
      for (const source of sources) source.close();
      clearTimeout(timer);
      for (const id of [...store.keys()]) if (!runIds.includes(id)) store.delete(id);
    };
  }, [key]);
  void version;
  return store;
}
