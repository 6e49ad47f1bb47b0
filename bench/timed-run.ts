/**
 * One command under `/usr/bin/time -v`, for the benchmarks that compare whole
 * runs: its wall time, its peak RSS (the largest resident set of the process
 * tree), the mean 1-minute load average while it ran (sampled every 5 s), its
 * exit code and its output.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';

export interface TimedRun {
  wallSeconds: number;
  maxRssMegabytes: number;
  loadAverage: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node args...` (this Node) in `cwd` under `/usr/bin/time -v` and measures it. */
export function timedNodeRun(args: readonly string[], cwd: string): Promise<TimedRun> {
  const started = performance.now();
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
  const child = spawn('/usr/bin/time', ['-v', process.execPath, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearInterval(sampler);
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({
        wallSeconds: (performance.now() - started) / 1000,
        maxRssMegabytes: rss ? Number(rss[1]) / 1024 : Number.NaN,
        loadAverage: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : loadavg()[0]!,
        exitCode: code,
        stdout,
        stderr,
      });
    });
  });
}
