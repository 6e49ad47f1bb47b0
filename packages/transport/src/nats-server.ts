import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when Debian's `nats-server` (or any on the PATH) is installed. */
export function hasNatsServer(): boolean {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A `nats-server -js` on a loopback port with its store in a temporary folder, started by {@link startNatsServer}. */
export interface NatsServerProcess {
  url: string;
  port: number;
  /** kill -9, then start again on the same port and store (streams and consumers survive). */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `nats-server -js` on a free loopback port (or `options.port`) with
 * its store in a new temporary folder, for tests and for `agent-trainer
 * train --workers N` on one machine; `stop()` kills it and removes the store.
 * Needs the `nats-server` binary on the PATH (Debian: `apt-get install
 * nats-server`); see {@link hasNatsServer}.
 *
 * @example
 * ```ts
 * const server = await startNatsServer();
 * const transport = await createNatsTransport({ servers: server.url, runId: 'run-1' });
 * ```
 */
export async function startNatsServer(options: { port?: number } = {}): Promise<NatsServerProcess> {
  const port = options.port ?? (await freePort());
  const store = mkdtempSync(join(tmpdir(), 'cohort-nats-'));
  let child = await launch(port, store);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async restart(options = {}) {
      await kill(child);
      await new Promise((resolve) => setTimeout(resolve, options.downMs ?? 500));
      child = await launch(port, store);
    },
    async stop() {
      await kill(child);
      rmSync(store, { recursive: true, force: true });
    },
  };
}

function launch(port: number, store: string): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(
      () => reject(new Error(`nats-server did not start in 10 s:\n${log}`)),
      10_000,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
