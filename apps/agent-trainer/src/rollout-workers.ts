import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createRolloutTaskHandler } from '@cohort/trainer';
import {
  type CollectReport,
  type CollectRequest,
  createInProcessTransport,
  type PolicySnapshot,
  type RolloutHandler,
  type RolloutTask,
  type RolloutTransport,
  runRolloutWorker,
  type TransportPosition,
} from '@cohort/transport';
import {
  createNatsTransport,
  hasNatsServer,
  type NatsServerProcess,
  startNatsServer,
} from '@cohort/transport/nats';
import type { AppConfig } from './app-config';
import { createTrainer, type TrainerParts } from './training-setup';

/**
 * The NATS run id of a run directory: its folder name with every character
 * NATS names cannot hold replaced by `_`, at most 64 characters, so a resumed
 * run finds its own streams again.
 */
export function natsRunIdFor(runDirectory: string): string {
  const name = path.basename(path.resolve(runDirectory)).replace(/[^A-Za-z0-9_-]/g, '_');
  return (name.length === 0 ? 'run' : name).slice(-64);
}

/**
 * A worker's rollout handler built from the run's config: the same policy
 * architecture, environment, rewards and training scenarios as the learner
 * (the weights come with each task's policy version).
 */
export async function createAppRolloutHandler(
  config: AppConfig,
  log?: (line: string) => void,
): Promise<RolloutHandler> {
  let parts: TrainerParts | undefined;
  // The trainer's own construction builds exactly the learner's parts; the worker uses its policy and environment.
  const trainer = await createTrainer({
    config,
    ...(log ? { log } : {}),
    onParts: (built) => {
      parts = built;
    },
  });
  const built = parts as TrainerParts;
  return createRolloutTaskHandler({
    policy: trainer.policy,
    environment: built.environment,
    rewards: built.rewards,
    scenarios: built.trainScenarios,
  });
}

/** Where a run's rollouts go, and how to stop what was started for them. */
export interface RolloutWorkers {
  transport: RolloutTransport;
  /** One line for the user: which transport, how many workers, how to add workers. */
  description: string;
  /** Set when the run asked for something this machine cannot give (no nats-server). */
  warning?: string;
  stop(): Promise<void>;
}

/** Options of {@link startRolloutWorkers}. */
export interface StartRolloutWorkersOptions {
  config: AppConfig;
  /** The run directory (its `config.resolved.json` is what local worker processes load). */
  runDirectory: string;
  /** Local workers to start (0 with `nats`: only remote workers). */
  workers: number;
  /** An existing NATS server (`train --nats URL`); absent: the app starts one when `workers > 0`. */
  nats?: string;
  log?: (line: string) => void;
}

/**
 * Sets up `train --workers N` and `train --nats URL`: a NATS JetStream
 * transport on a `nats-server` that the app starts on a loopback port with
 * its store in a temporary folder (or on the given server), and N local
 * `agent-trainer worker` processes, so rollouts and learning use different
 * cores. Without `nats-server` on the PATH the N workers run inside this
 * process over the in-process transport, with a warning: the same results,
 * but no extra cores.
 */
export async function startRolloutWorkers(
  options: StartRolloutWorkersOptions,
): Promise<RolloutWorkers> {
  const runId = natsRunIdFor(options.runDirectory);
  if (options.nats === undefined && !hasNatsServer()) {
    return startInProcessWorkers(options);
  }
  let server: NatsServerProcess | undefined;
  let transport: RolloutTransport | undefined;
  const children: ChildProcess[] = [];
  try {
    server = options.nats === undefined ? await startNatsServer() : undefined;
    const url = options.nats ?? server!.url;
    transport = await createNatsTransport({ servers: url, runId });
    const stderrTails = new Map<ChildProcess, string>();
    for (let index = 0; index < options.workers; index++) {
      const child = spawn(
        process.execPath,
        [
          ...process.execArgv,
          process.argv[1]!,
          'worker',
          '--nats',
          url,
          '--run-id',
          runId,
          '--run-dir',
          options.runDirectory,
          '--trust-run-modules',
          '--worker-id',
          `local-${index}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        stderrTails.set(child, `${stderrTails.get(child) ?? ''}${chunk.toString()}`.slice(-2000));
      });
      child.once('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGTERM')
          options.log?.(
            `worker local-${index} exited with ${code ?? signal}: ${stderrTails.get(child) ?? ''}`,
          );
      });
      children.push(child);
    }
    const where = server
      ? `a nats-server started on ${url} (JetStream store in a temporary folder)`
      : url;
    const localWorkers =
      options.workers > 0 ? `${options.workers} worker processes` : 'no local worker';
    return {
      transport,
      description: `rollouts on NATS JetStream at ${where}, run id ${runId}, ${localWorkers}; add workers on other machines with: agent-trainer worker --nats ${options.nats ?? 'nats://THIS-HOST:PORT'} --run-id ${runId} --config <this run's config file>`,
      stop: async () => {
        await Promise.all(children.map((child) => stopChild(child)));
        await transport?.close();
        await server?.stop();
      },
    };
  } catch (error) {
    await Promise.all(children.map((child) => stopChild(child)));
    await transport?.close().catch(() => {});
    await server?.stop();
    throw error;
  }
}

async function startInProcessWorkers(options: StartRolloutWorkersOptions): Promise<RolloutWorkers> {
  const transport = createInProcessTransport();
  const controller = new AbortController();
  const loops: Promise<unknown>[] = [];
  for (let index = 0; index < options.workers; index++) {
    const handler = await createAppRolloutHandler(options.config);
    loops.push(
      runRolloutWorker({
        source: transport.source(),
        workerId: `in-process-${index}`,
        handler,
        signal: controller.signal,
        pollMs: 100,
      }),
    );
  }
  return {
    transport,
    description: `rollouts on ${options.workers} workers inside this process (in-process transport)`,
    warning:
      'nats-server is not installed, so the workers run inside this process: the same results, but no extra cores (install it, Debian: apt-get install nats-server, for worker processes)',
    stop: async () => {
      controller.abort();
      await Promise.all(loops);
      await transport.close();
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A rollout transport whose target is attached later: the trainer is built
 * (and every setting checked) before the run directory exists, and the
 * workers, which load the run's config from that directory, start after.
 */
export class DeferredRolloutTransport implements RolloutTransport {
  readonly kind = 'deferred';
  private target: RolloutTransport | undefined;
  private position: TransportPosition = { resultsSequence: 0, deadLetterSequence: 0 };

  /** Sends everything to `target` from now on, starting from the position set so far. */
  attach(target: RolloutTransport): void {
    target.setPosition(this.position);
    this.target = target;
  }

  private get current(): RolloutTransport {
    if (this.target === undefined)
      throw new Error('the rollout transport was used before the workers were started');
    return this.target;
  }

  async publishPolicy(snapshot: PolicySnapshot): Promise<void> {
    await this.current.publishPolicy(snapshot);
  }

  async submit(tasks: readonly RolloutTask[]): Promise<void> {
    await this.current.submit(tasks);
  }

  async collect(request: CollectRequest): Promise<CollectReport> {
    return this.current.collect(request);
  }

  getPosition(): TransportPosition {
    return this.target?.getPosition() ?? { ...this.position };
  }

  setPosition(position: TransportPosition): void {
    if (this.target) this.target.setPosition(position);
    else this.position = { ...position };
  }

  async close(): Promise<void> {
    await this.target?.close();
  }
}
