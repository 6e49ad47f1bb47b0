/** The token the console was opened with (`?token=`), carried on every request. */
const token = new URLSearchParams(window.location.search).get('token');

/** A URL of the console's API, with the token when there is one. */
export function apiUrl(pathname: string): string {
  const url = new URL(pathname, window.location.origin);
  if (token) url.searchParams.set('token', token);
  return url.pathname + url.search;
}

/** GETs or POSTs JSON; a non-2xx answer throws with the server's message. */
export async function requestJson<T>(pathname: string, body?: unknown): Promise<T> {
  const response = await fetch(
    apiUrl(pathname),
    body === undefined
      ? {}
      : {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
  );
  const value = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(value.error ?? `HTTP ${response.status}`);
  return value;
}

export interface RunInfo {
  id: string;
  name: string;
  feedback: boolean;
}

/** One line of `metrics.jsonl`. */
export interface MetricsRecord {
  kind: string;
  step: number;
  time?: string;
  [key: string]: unknown;
}
