import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../command-line';

function usageMessage(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('the console command line', () => {
  it('parses console and train --console', () => {
    expect(parseCommandLine(['console'])).toEqual({
      command: 'console',
      runDirectories: ['runs'],
      host: '127.0.0.1',
      port: 7707,
      json: false,
      verbose: false,
    });
    expect(
      parseCommandLine([
        'console',
        'runs/a',
        'runs/b',
        '--host',
        '0.0.0.0',
        '--port',
        '0',
        '--token',
        'x'.repeat(16),
      ]),
    ).toMatchObject({
      runDirectories: ['runs/a', 'runs/b'],
      host: '0.0.0.0',
      port: 0,
      token: 'x'.repeat(16),
    });
    expect(parseCommandLine(['train', '--console'])).toMatchObject({ console: { port: 7707 } });
    expect(parseCommandLine(['train', '--console', '--console-port', '9000'])).toMatchObject({
      console: { port: 9000 },
    });
    expect(parseCommandLine(['train'])).not.toHaveProperty('console');
  });

  it('refuses bad values with the flag and the value', () => {
    expect(usageMessage(['console', '--port', '70000'])).toBe(
      '--port must be an integer in [0, 65535], got "70000"',
    );
    expect(usageMessage(['console', '--port=-1'])).toMatch(/--port must be an integer/);
    expect(usageMessage(['console', '--token', 'short'])).toBe(
      '--token must be at least 16 characters, got 5',
    );
    expect(usageMessage(['train', '--console-port', '9000'])).toBe(
      '--console-port needs --console',
    );
    expect(usageMessage(['console', '--steps', '3'])).toMatch(/console: Unknown option '--steps'/);
  });
});
