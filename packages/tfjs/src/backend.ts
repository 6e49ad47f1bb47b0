import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { shareIdentityBuffersOnWasm } from './wasm-shared-identity';

/** A backend that {@link initializeBackend} can be asked for. */
export type BackendRequest = 'auto' | 'node' | 'wasm' | 'cpu';

/** Options of {@link initializeBackend}. */
export interface InitializeBackendOptions {
  /**
   * Which backend to use. `'auto'` (the default) tries `@tensorflow/tfjs-node`,
   * then WASM, then the pure JS `cpu` backend. The environment variable
   * `COHORT_TFJS_BACKEND` (`auto|node|wasm|cpu`) overrides this option.
   */
  backend?: BackendRequest;
  /**
   * Receives the one line that says which backend was chosen and why. Defaults
   * to writing to stderr; pass `false` to stay silent.
   */
  logger?: ((message: string) => void) | false;
}

/** What {@link initializeBackend} chose. */
export interface BackendChoice {
  /** The tfjs backend name now active: `'tensorflow'` (tfjs-node), `'wasm'` or `'cpu'`. */
  backend: string;
  /** Why it was chosen, for example `'auto: tfjs-node not installed; wasm with SIMD'`. */
  reason: string;
}

const requests: readonly BackendRequest[] = ['auto', 'node', 'wasm', 'cpu'];
let current: { request: BackendRequest; choice: BackendChoice } | undefined;
let pending: Promise<BackendChoice> | undefined;
let wasmPathsSet = false;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function defaultLogger(message: string): void {
  if (isNode()) process.stderr.write(`${message}\n`);
  else console.info(message);
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

async function tryNode(): Promise<string | undefined> {
  // A variable specifier keeps bundlers and TypeScript from requiring the optional peer.
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(/* @vite-ignore */ specifier);
  } catch (error) {
    return `tfjs-node unavailable (${describeError(error)})`;
  }
  if (!(await tf.setBackend('tensorflow'))) return 'tfjs-node loaded but its backend failed';
  return undefined;
}

async function locateWasmFiles(): Promise<void> {
  if (wasmPathsSet || !isNode()) return;
  // Variable specifiers keep bundlers from resolving Node built-ins into a
  // browser bundle: this branch runs only in Node.
  const moduleSpecifier = 'node:module';
  const pathSpecifier = 'node:path';
  const { createRequire } = (await import(
    /* @vite-ignore */ moduleSpecifier
  )) as typeof import('node:module');
  const path = (await import(/* @vite-ignore */ pathSpecifier)) as typeof import('node:path');
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  setWasmPaths(`${path.join(path.dirname(packageJson), 'dist')}${path.sep}`);
  wasmPathsSet = true;
}

async function tryWasm(): Promise<string | undefined> {
  try {
    await locateWasmFiles();
    shareIdentityBuffersOnWasm();
    if (!(await tf.setBackend('wasm'))) return 'wasm backend failed to initialize';
    await tf.ready();
    return undefined;
  } catch (error) {
    return `wasm unavailable (${describeError(error)})`;
  }
}

async function wasmDetails(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `wasm (SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`;
}

/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in
 * Node.js ..." with `console.warn` on its first tensor write. The line that
 * {@link initializeBackend} logs already says that the cpu backend was
 * chosen and why, so the banner is only noise on stderr. It is switched off
 * through the backend's `firstUse` field (tfjs-backend-cpu 4.x), the one flag
 * that guards it; tfjs's `PROD` flag would also hide its real warnings.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: unknown } | null;
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

async function choose(request: BackendRequest, source: string): Promise<BackendChoice> {
  const notes: string[] = [];
  if (request === 'node' || request === 'auto') {
    const failure = await tryNode();
    if (failure === undefined) return { backend: 'tensorflow', reason: `${source}: tfjs-node` };
    if (request === 'node') {
      throw new InvalidArgumentError({
        argument: 'backend',
        value: request,
        message: `${failure}; install @tensorflow/tfjs-node or choose 'wasm'`,
      });
    }
    notes.push(failure);
  }
  if (request === 'wasm' || request === 'auto') {
    const failure = await tryWasm();
    if (failure === undefined) {
      return { backend: 'wasm', reason: [`${source}:`, ...notes, await wasmDetails()].join(' ') };
    }
    if (request === 'wasm') {
      throw new InvalidArgumentError({ argument: 'backend', value: request, message: failure });
    }
    notes.push(failure);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  silenceCpuBanner();
  notes.push('pure JS cpu backend (about 30x slower than wasm)');
  return { backend: 'cpu', reason: [`${source}:`, ...notes].join(' ') };
}

/**
 * Chooses and activates the TensorFlow.js backend: `@tensorflow/tfjs-node` when
 * its native library loads, else WASM (with SIMD where the runtime has it), else
 * the pure JS `cpu` backend. The choice is logged once.
 *
 * Idempotent: calling it again with the same request returns the same choice
 * without logging; asking for a different backend switches to it. In Node the
 * WASM binaries are located inside the installed `@tensorflow/tfjs-backend-wasm`.
 *
 * @example
 * ```ts
 * const { backend, reason } = await initializeBackend({ logger: false });
 * // backend === 'wasm', reason === 'auto: tfjs-node unavailable (...) wasm (SIMD on, threads off)'
 * ```
 */
export async function initializeBackend(
  options: InitializeBackendOptions = {},
): Promise<BackendChoice> {
  const fromEnvironment = isNode() ? process.env.COHORT_TFJS_BACKEND : undefined;
  const raw =
    fromEnvironment !== undefined && fromEnvironment !== '' ? fromEnvironment : options.backend;
  const request = (raw ?? 'auto') as BackendRequest;
  const argument = fromEnvironment ? 'COHORT_TFJS_BACKEND' : 'backend';
  if (!requests.includes(request)) {
    throw new InvalidArgumentError({
      argument,
      value: raw,
      message: `must be one of ${requests.join(', ')}`,
    });
  }
  while (pending) await pending.catch(() => undefined);
  if (current && current.request === request && tf.getBackend() === current.choice.backend) {
    return current.choice;
  }
  const source = fromEnvironment
    ? 'COHORT_TFJS_BACKEND'
    : request === 'auto'
      ? 'auto'
      : 'requested';
  pending = choose(request, source);
  try {
    const choice = await pending;
    current = { request, choice };
    const logger = options.logger === undefined ? defaultLogger : options.logger;
    if (logger) logger(`[@cohort/tfjs] backend ${choice.backend}: ${choice.reason}`);
    return choice;
  } finally {
    pending = undefined;
  }
}
