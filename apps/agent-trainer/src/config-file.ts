import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isNode, LineCounter, parseDocument, visit } from 'yaml';
import { UsageError } from './exit-codes';

/** Tags of the YAML 1.2 core schema: plain data. Anything else (`!!binary`, `!!set`, `!foo`) is refused. */
const allowedTags = new Set([
  'tag:yaml.org,2002:str',
  'tag:yaml.org,2002:int',
  'tag:yaml.org,2002:float',
  'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:map',
  'tag:yaml.org,2002:seq',
]);

/** The largest config file read (a config is a page of settings, not data). */
export const maxConfigFileBytes = 1_000_000;

function position(lineCounter: LineCounter, offset: number): string {
  const { line, col } = lineCounter.linePos(offset);
  return `line ${line} column ${col}`;
}

/**
 * Parses the text of a config file, refusing what a config cannot mean:
 * an empty, `null` or comment-only file (it would silently be the whole
 * default run), duplicate keys (JSON and YAML), YAML tags beyond plain data,
 * and anything that is not a mapping at the top. Each refusal is a
 * {@link UsageError} that names the file and, where there is one, the line
 * and column.
 *
 * @example
 * ```ts
 * parseConfigText('trainer: { steps: 5 }\n', 'a.yaml'); // { trainer: { steps: 5 } }
 * ```
 */
export function parseConfigText(text: string, filePath: string): Record<string, unknown> {
  const json = filePath.endsWith('.json');
  const kind = json ? 'JSON' : 'YAML';
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    schema: 'core',
  });
  const fail = (where: string, detail: string): never => {
    throw new UsageError(`config file ${filePath}${where ? ` ${where}` : ''}: ${detail}`);
  };
  for (const error of document.errors) {
    // JSON is read by JSON.parse below; the YAML reading of it only finds duplicate keys.
    if (json && error.code !== 'DUPLICATE_KEY') continue;
    const where = position(lineCounter, error.pos[0]);
    if (error.code === 'DUPLICATE_KEY') fail(where, 'duplicate key (each key may appear once)');
    fail(
      where,
      `is not valid ${kind}: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  let data: unknown;
  if (json) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      fail('', `is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
    }
  } else {
    visit(document, (_key, node) => {
      if (!isNode(node)) return;
      const tag = (node as { tag?: string }).tag;
      if (tag !== undefined && !allowedTags.has(tag)) {
        const offset = (node as { range?: [number, number, number] }).range?.[0] ?? 0;
        fail(position(lineCounter, offset), `YAML tag ${tag} is not allowed (plain values only)`);
      }
    });
    for (const warning of document.warnings) {
      fail(
        position(lineCounter, warning.pos[0]),
        warning.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      );
    }
    try {
      data = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      fail('', `is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (data === null || data === undefined) {
    fail(
      '',
      'is empty (or only comments or null); write at least `preset: balanced`, or leave out --config for the default run',
    );
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    fail(
      '',
      `must be a mapping of keys to values at the top, got ${Array.isArray(data) ? 'a list' : typeof data}`,
    );
  }
  return data as Record<string, unknown>;
}

/**
 * Reads a JSON (`.json`) or YAML (`.yaml`, `.yml`, anything else) config
 * file with {@link parseConfigText}. A missing, unreadable, oversized or
 * unparsable file throws {@link UsageError}; module paths inside it are
 * resolved relative to the file.
 *
 * @example
 * ```ts
 * const input = await readConfigFile('configs/support.yaml');
 * const config = resolveAppConfig(input, { steps: 5 });
 * ```
 */
export async function readConfigFile(filePath: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `config file not found: ${filePath}`
        : `cannot read config file ${filePath}: ${code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  if (bytes.byteLength > maxConfigFileBytes) {
    throw new UsageError(
      `config file ${filePath} is ${bytes.byteLength} bytes; a config is at most ${maxConfigFileBytes}`,
    );
  }
  const data = parseConfigText(bytes.toString('utf8'), filePath);
  return resolveModulePaths(data, path.dirname(path.resolve(filePath)));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Makes `environment.module` and `rewards[i].module` absolute, relative to the config's folder. */
function resolveModulePaths(data: Record<string, unknown>, base: string): Record<string, unknown> {
  const result: Record<string, unknown> = { ...data };
  const resolve = (entry: unknown): unknown =>
    isPlainObject(entry) && entry.type === 'module' && typeof entry.module === 'string'
      ? { ...entry, module: path.resolve(base, entry.module) }
      : entry;
  if (result.environment !== undefined) result.environment = resolve(result.environment);
  if (Array.isArray(result.rewards)) result.rewards = result.rewards.map(resolve);
  return result;
}
