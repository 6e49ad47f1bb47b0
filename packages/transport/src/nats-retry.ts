/**
 * Runs a JetStream API call again while the server is unreachable or still
 * recovering (a request that times out, no responders, a dropped connection),
 * so a restart of `nats-server` pauses a run instead of failing it. Other
 * errors are thrown at once.
 */
export async function retryWhileUnavailable<T>(
  operation: () => Promise<T>,
  options: { retryForMs: number },
): Promise<T> {
  const deadline = Date.now() + options.retryForMs;
  let delay = 100;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isUnavailable(error) || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'TimeoutError' ||
    error.name === 'NoRespondersError' ||
    /timeout|no responders|disconnect|connection (closed|lost|refused)|ECONNREFUSED|ECONNRESET|jetstream not (enabled|available)/i.test(
      error.message,
    )
  );
}
