import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root and the CLI's entry, as a user of the workspace runs it. */
export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = path.join(root, 'apps/agent-trainer/src/bin.ts');

/** What a finished CLI process left. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `agent-trainer ARGS` in a child process (stdin closed, or fed `input`
 * and then closed); `onStart` gets the child and a reader of its stderr so
 * far, for tests that act on it (kill it at some moment).
 */
export function runCli(
  args: readonly string[],
  onStart?: (child: ChildProcess, stderr: () => string) => void,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cohort/source', '--import', 'tsx', cliPath, ...args],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
    onStart?.(child, () => stderr);
  });
}

/**
 * `agent-trainer train --config CONFIG --model MODEL --run-dir RUN_DIR`, the
 * call every config-driven e2e test makes; returns the process's result.
 */
export function runTrain(options: {
  configPath: string;
  modelDirectory: string;
  runDirectory: string;
}): Promise<CliResult> {
  return runCli([
    'train',
    '--config',
    options.configPath,
    '--model',
    options.modelDirectory,
    '--run-dir',
    options.runDirectory,
  ]);
}
