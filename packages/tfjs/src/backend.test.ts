import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initializeBackend } from './backend';

describe('initializeBackend', () => {
  afterEach(() => {
    delete process.env.COHORT_TFJS_BACKEND;
  });

  // First in the file: tfjs prints the banner on the cpu backend's first write only.
  it("keeps tfjs's cpu banner off stderr: the logged reason already names the backend", async () => {
    const warnings: unknown[][] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    try {
      await initializeBackend({ backend: 'cpu', logger: false });
      tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)).dataSync());
    } finally {
      spy.mockRestore();
    }
    expect(warnings.map((args) => String(args[0]))).not.toContainEqual(
      expect.stringMatching(/looks like you are running TensorFlow\.js in Node\.js/),
    );
  });

  it('activates wasm with SIMD and cpu on request, logs once per choice, and is idempotent', async () => {
    const lines: string[] = [];
    const logger = (line: string) => lines.push(line);
    const wasm = await initializeBackend({ backend: 'wasm', logger });
    expect(wasm.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasm.reason).toMatch(/SIMD on/);
    expect(await initializeBackend({ backend: 'wasm', logger })).toBe(wasm);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/backend wasm/);
    const cpu = await initializeBackend({ backend: 'cpu', logger });
    expect(cpu.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toHaveLength(2);
    expect(tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 1])).dataSync()[0])).toBe(3);
  });

  it('auto falls back past a missing tfjs-node, and the environment variable wins', async () => {
    const lines: string[] = [];
    const auto = await initializeBackend({ logger: (line) => lines.push(line) });
    expect(['tensorflow', 'wasm']).toContain(auto.backend);
    if (auto.backend === 'wasm') expect(auto.reason).toMatch(/tfjs-node unavailable/);
    process.env.COHORT_TFJS_BACKEND = 'cpu';
    const forced = await initializeBackend({ backend: 'wasm', logger: false });
    expect(forced).toMatchObject({ backend: 'cpu' });
    expect(forced.reason).toMatch(/COHORT_TFJS_BACKEND/);
    process.env.COHORT_TFJS_BACKEND = 'gpu';
    await expect(initializeBackend({ logger: false })).rejects.toThrow(
      /COHORT_TFJS_BACKEND = "gpu"/,
    );
    delete process.env.COHORT_TFJS_BACKEND;
    await expect(initializeBackend({ backend: 'node', logger: false })).rejects.toThrow(
      /tfjs-node/,
    );
  });
});
