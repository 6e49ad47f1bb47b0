import { describe, expect, it } from 'vitest';
import {
  commandHelp,
  commandsMarkdown,
  defineCommand,
  parseCommand,
  usageLine,
} from './cli-command';
import { booleanFlag, choiceFlag, integerFlag, numberFlag, stringFlag } from './cli-flag';
import { UsageError } from './exit-codes';

/** A command declared the way a new one (`worker`, `gateway`) would be. */
const workerCommandLine = defineCommand({
  name: 'worker',
  summary: 'Collects rollouts for a learner.',
  description: 'Connects to a learner and collects rollouts until it is stopped.',
  exactlyOne: ['url', 'socket'],
  flags: {
    url: stringFlag({ placeholder: 'URL', description: 'the learner to connect to' }),
    socket: stringFlag({ placeholder: 'PATH', description: 'a local socket of the learner' }),
    workers: integerFlag({ minimum: 1, maximum: 64, default: 2, description: 'worker processes' }),
    temperature: numberFlag({ placeholder: 'T', minimum: 0, description: 'sampling temperature' }),
    engine: choiceFlag({ choices: ['tfjs', 'onnx'], description: 'sampling engine' }),
    label: stringFlag({
      placeholder: 'TEXT',
      description: 'a label of at most 4 characters',
      problem: (text) =>
        text.length > 4 ? `must be at most 4 characters, got ${text.length}` : undefined,
    }),
    once: booleanFlag({ short: '1', description: 'collect one batch and stop' }),
  },
  build: (values) => ({
    command: 'worker' as const,
    url: values.url,
    socket: values.socket,
    workers: values.workers,
    temperature: values.temperature,
    engine: values.engine,
    label: values.label,
    once: values.once,
  }),
});

function usageMessage(args: string[]): string {
  try {
    parseCommand(workerCommandLine, args);
  } catch (error) {
    expect(UsageError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('flags declared once as zod schemas', () => {
  it('parses each kind of flag, applies defaults and drops absent values', () => {
    expect(
      parseCommand(workerCommandLine, [
        '--url',
        'u',
        '--temperature',
        '0.5',
        '--engine',
        'onnx',
        '-1',
      ]),
    ).toEqual({
      help: false,
      result: {
        command: 'worker',
        url: 'u',
        workers: 2,
        temperature: 0.5,
        engine: 'onnx',
        once: true,
        json: false,
        verbose: false,
      },
    });
    expect(parseCommand(workerCommandLine, ['--socket', 's', '--workers', '64'])).toMatchObject({
      result: { socket: 's', workers: 64, once: false },
    });
    const parsed = parseCommand(workerCommandLine, ['--socket', 's']);
    expect(parsed.help === false && 'temperature' in parsed.result).toBe(false);
    expect(parseCommand(workerCommandLine, ['--help', '--json'])).toEqual({
      help: true,
      flags: { json: true, verbose: false },
    });
  });

  it('refuses a bad value naming the flag and the value', () => {
    expect(usageMessage(['--url', 'u', '--workers', '65'])).toBe(
      '--workers must be an integer in [1, 64], got "65"',
    );
    expect(usageMessage(['--url', 'u', '--workers', '1e1'])).toBe(
      '--workers must be an integer in [1, 64], got "1e1"',
    );
    expect(usageMessage(['--url', 'u', '--temperature=-0.1'])).toBe(
      '--temperature must be a number >= 0, got "-0.1"',
    );
    expect(usageMessage(['--url', 'u', '--temperature', ' '])).toBe(
      '--temperature must be a number >= 0, got " "',
    );
    expect(usageMessage(['--url', 'u', '--engine', 'gpu'])).toBe(
      '--engine must be one of tfjs, onnx, got "gpu"',
    );
    expect(usageMessage(['--url', 'u', '--label', 'toolong'])).toBe(
      '--label must be at most 4 characters, got 7',
    );
    expect(usageMessage([])).toBe('worker needs exactly one of --url URL or --socket PATH');
    expect(usageMessage(['--url', 'u', '--socket', 's'])).toBe(
      'worker needs exactly one of --url URL or --socket PATH',
    );
    expect(usageMessage(['--url', 'u', 'stray'])).toMatch(/^worker: Unexpected argument 'stray'/);
  });

  it('makes the usage line, the help and the README table from the same declaration', () => {
    expect(usageLine(workerCommandLine, Number.POSITIVE_INFINITY)).toBe(
      'agent-trainer worker (--url URL | --socket PATH) [--workers N] [--temperature T] [--engine tfjs|onnx] [--label TEXT] [--once] [--json] [--verbose]',
    );
    const help = commandHelp(workerCommandLine);
    expect(help).toMatch(/--workers N\s+worker processes \(default 2\)/);
    expect(help).toMatch(/-1, --once\s+collect one batch and stop/);
    expect(help).toMatch(/-v, --verbose\s+stack traces/);
    const markdown = commandsMarkdown([workerCommandLine]);
    expect(markdown).toContain('| `--workers N` | 2 | worker processes |');
    expect(markdown).toContain('| `--engine tfjs\\|onnx` |  | sampling engine |');
    expect(markdown).toContain('| `--once` (`-1`) |  | collect one batch and stop |');
  });
});
