import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import path from 'node:path';
import { CohortError, InvalidArgumentError, parseWithSchema } from '@cohort/core';
import {
  ConsoleServerOptionsSchema,
  type ConsoleServerSettings,
  type ConsoleServerSettingsInput,
} from './console-server-options';
import type { FeedbackBroker } from './feedback-broker';
import { JsonLinesTail, type TailUpdate } from './json-lines-tail';
import {
  type CatalogRun,
  parseJsonLines,
  readRunFile,
  resolveRuns,
  runFileNames,
} from './run-catalog';
import { defaultWebDirectory } from './web-directory';

/** One message of a chat in the console (the system prompt is the checkpoint's own). */
export interface ConsoleChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** A scenario the chat with tools can run on (its simulated backend). */
export interface ConsoleToolScenario {
  id: string;
  /** A short description (the task's kind). */
  label: string;
}

/** Where a chat with tools stands (see the app's `ToolChatSession`). */
export interface ConsoleToolChatState {
  /** The session to send the next line to. */
  session: string;
  scenarioId: string;
  /** System prompt (with the tool instructions) first; tool results are `tool` messages. */
  messages: { role: 'system' | 'user' | 'assistant' | 'tool'; content: string }[];
  toolCalls: {
    turnIndex: number;
    name: string;
    arguments: unknown;
    result?: unknown;
    error?: { kind: string; message: string };
  }[];
  tokenCount: number;
  done: boolean;
  outcome?: {
    endReason: string;
    /** The task's own verdict (the support desk's database check); null when the task gives none. */
    solved: boolean | null;
    reward: number;
    info: Record<string, unknown>;
  };
}

/** A request of the chat with tools, checked by the console before it reaches the chat. */
export type ConsoleToolRequest =
  | {
      action: 'start';
      runDirectory: string;
      checkpoint: string | null;
      /** One of the offered scenarios, or null for a fresh one from the training distribution. */
      scenario: string | null;
    }
  | { action: 'say'; runDirectory: string; session: string; message: string }
  | { action: 'close'; runDirectory: string; session: string };

/**
 * Talks to a run's checkpoint for the chat page. The console checks the
 * request (a checkpoint the run has, alternating messages ending with the
 * user's); the implementation loads the model and generates (the app loads
 * the run's base model with the checkpoint's weights).
 */
export interface ConsoleChat {
  reply(request: {
    runDirectory: string;
    /** A `step-NNNNNN` folder of the run's `checkpoints/`, or null for the run's base model. */
    checkpoint: string | null;
    messages: ConsoleChatMessage[];
  }): Promise<{ reply: string; systemPrompt: string }>;
  /**
   * The scenarios of a run whose environment offers tools, for the chat with
   * tools; null when it offers none (the page then chats without tools).
   */
  toolScenarios?(runDirectory: string): Promise<ConsoleToolScenario[] | null>;
  /** Starts, continues or closes a chat with tools; an unknown scenario or session is an `InvalidArgumentError` naming it. */
  tools?(request: ConsoleToolRequest): Promise<ConsoleToolChatState>;
}

/** Options of {@link createConsoleServer}: the settings and the live parts. */
export interface ConsoleServerOptions extends ConsoleServerSettingsInput {
  /** Brokers of runs whose trainer is waiting for a person's ratings, matched by run directory. */
  feedback?: readonly FeedbackBroker[];
  /** Chat with a run's checkpoints; without it the chat page says that it is off. */
  chat?: ConsoleChat;
}

/** A running console. */
export interface ConsoleServer {
  /** The address to open, with the token when there is one. */
  readonly url: string;
  readonly port: number;
  readonly runs: readonly CatalogRun[];
  /** Sends the last lines of the followed files, then stops listening and ends every event stream. */
  close(): Promise<void>;
}

/** The files the front-end consists of; nothing else is served from disk. */
const staticFiles: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // The token travels in the URL: never send it on as a referrer.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const maximumBodyBytes = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, finiteOrString);
  response.writeHead(status, {
    ...securityHeaders,
    'Content-Type': 'application/json; charset=utf-8',
  });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const type = request.headers['content-type'] ?? '';
  // A form on another site cannot send application/json without a preflight this server never answers.
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new HttpError(415, `Content-Type must be application/json, got ${JSON.stringify(type)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maximumBodyBytes) {
      throw new HttpError(413, `request body over ${maximumBodyBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

/**
 * Starts the training console: an HTTP server for the built front-end and a
 * JSON and server-sent-events API over the given run directories. It only
 * reads a run's known files (config, metrics, samples, trajectories,
 * summary, feedback) and writes only ratings, through a {@link FeedbackBroker};
 * nothing in a run folder is ever executed or served as a page, and every
 * text goes to the page as JSON that the front-end renders as text.
 *
 * On loopback (the default) it accepts only requests whose `Host` is a
 * loopback name (so a web page cannot reach it through DNS rebinding); on any
 * other interface every request must carry the token. Metrics stream live by
 * tailing `metrics.jsonl`, so a `train` in another process streams without
 * knowing about the console.
 *
 * @example
 * ```ts
 * const server = await createConsoleServer({ runDirectories: ['runs'] });
 * console.log(`open ${server.url}`);
 * ```
 */
export async function createConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { feedback = [], chat, ...input } = options ?? ({} as ConsoleServerOptions);
  const settings: ConsoleServerSettings = parseWithSchema(
    ConsoleServerOptionsSchema,
    input,
    'console server options',
  );
  const loopback = isLoopback(settings.host);
  const token = settings.token ?? (loopback ? undefined : randomBytes(24).toString('base64url'));
  const webDirectory = path.resolve(settings.webDirectory ?? defaultWebDirectory());
  const files = new Map<string, Buffer>();
  for (const [route, entry] of Object.entries(staticFiles)) {
    try {
      files.set(route, await readFile(path.join(webDirectory, entry.file)));
    } catch {
      throw new InvalidArgumentError({
        argument: 'webDirectory',
        value: webDirectory,
        message: `has no ${entry.file}: build the front-end first (pnpm --filter @cohort/console build)`,
      });
    }
  }
  const runs = await resolveRuns(settings.runDirectories, {
    allowEmpty: settings.allowEmptyRuns,
  });
  const runById = new Map(runs.map((run) => [run.id, run]));
  const brokerByDirectory = new Map(feedback.map((broker) => [broker.runDirectory, broker]));
  for (const broker of feedback) {
    if (!runs.some((run) => run.directory === broker.runDirectory)) {
      throw new InvalidArgumentError({
        argument: 'feedback',
        value: broker.runDirectory,
        message: 'is a broker of a run directory the console does not serve',
      });
    }
  }
  const tails = new Map<string, JsonLinesTail>();
  const tailOf = (run: CatalogRun) => {
    let tail = tails.get(run.id);
    if (!tail) {
      tail = new JsonLinesTail({
        file: path.join(run.directory, runFileNames.metrics),
        pollMs: settings.pollMs,
      });
      tails.set(run.id, tail);
    }
    return tail;
  };
  const streams = new Set<ServerResponse>();
  const cleanups = new Set<() => void>();

  const tokenBuffer = token === undefined ? undefined : Buffer.from(token);
  const authorized = (request: IncomingMessage, url: URL): boolean => {
    if (tokenBuffer === undefined) return true;
    const header = request.headers.authorization;
    const given =
      url.searchParams.get('token') ??
      (header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined);
    if (given === undefined) return false;
    const buffer = Buffer.from(given);
    return buffer.length === tokenBuffer.length && timingSafeEqual(buffer, tokenBuffer);
  };

  const openStream = (request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(200, {
      ...securityHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    response.write('retry: 1000\n\n');
    streams.add(response);
    const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), settings.heartbeatMs);
    request.on('close', () => {
      clearInterval(heartbeat);
      streams.delete(response);
    });
  };

  const send = (response: ServerResponse, event: string, data: unknown): void => {
    response.write(`event: ${event}\ndata: ${JSON.stringify(data, finiteOrString)}\n\n`);
  };

  const feedbackState = async (run: CatalogRun) => {
    const broker = brokerByDirectory.get(run.directory);
    if (broker) return { live: true, pending: broker.pending(), ratings: broker.ratings() };
    const text = (await readRunFile(run, 'feedback')) ?? '';
    return { live: false, pending: [], ratings: parseJsonLines(text) };
  };

  const routes = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const method = request.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const staticFile = staticFiles[url.pathname];
    if (staticFile) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} not allowed`);
      response.writeHead(200, { ...securityHeaders, 'Content-Type': staticFile.type });
      response.end(method === 'HEAD' ? undefined : files.get(url.pathname));
      return;
    }
    if (parts[0] !== 'api') throw new HttpError(404, `no such page: ${url.pathname}`);
    if (parts.length === 2 && parts[1] === 'runs') {
      if (method !== 'GET') throw new HttpError(405, `${method} not allowed`);
      sendJson(
        response,
        200,
        runs.map((run) => ({
          id: run.id,
          name: run.name,
          feedback: brokerByDirectory.has(run.directory),
        })),
      );
      return;
    }
    if (parts[1] !== 'runs' || parts.length < 4) {
      throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    }
    const run = runById.get(parts[2]!);
    if (!run) {
      throw new HttpError(
        404,
        `no run ${JSON.stringify(parts[2])}; runs: ${runs.map((item) => item.id).join(', ')}`,
      );
    }
    const endpoint = parts.slice(3).join('/');
    const requireMethod = (allowed: string) => {
      if (method !== allowed) throw new HttpError(405, `${method} not allowed on ${endpoint}`);
    };
    switch (endpoint) {
      case 'overview': {
        requireMethod('GET');
        const parse = (text: string | undefined, file: string) => {
          if (text === undefined) return null;
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return { unreadable: `${file} is not JSON` };
          }
        };
        sendJson(response, 200, {
          id: run.id,
          name: run.name,
          config: parse(await readRunFile(run, 'config'), runFileNames.config),
          summary: parse(await readRunFile(run, 'summary'), runFileNames.summary),
        });
        return;
      }
      case 'metrics': {
        requireMethod('GET');
        const tail = tailOf(run);
        await tail.poll();
        sendJson(response, 200, tail.snapshot());
        return;
      }
      case 'metrics/stream': {
        requireMethod('GET');
        openStream(request, response);
        const stop = await tailOf(run).subscribe((update: TailUpdate) =>
          response.write(serializedEvent(update)),
        );
        cleanups.add(stop);
        request.on('close', () => {
          stop();
          cleanups.delete(stop);
        });
        return;
      }
      case 'trajectories': {
        requireMethod('GET');
        sendJson(response, 200, {
          samples: parseJsonLines((await readRunFile(run, 'samples')) ?? ''),
          trajectories: parseJsonLines((await readRunFile(run, 'trajectories')) ?? ''),
        });
        return;
      }
      case 'feedback': {
        if (method === 'GET') {
          sendJson(response, 200, await feedbackState(run));
          return;
        }
        requireMethod('POST');
        const broker = brokerByDirectory.get(run.directory);
        if (!broker) {
          throw new HttpError(409, `run ${run.id} has no trainer waiting for feedback`);
        }
        const body = (await readBody(request)) as Record<string, unknown> | null;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new HttpError(400, 'request body must be a JSON object { itemId, answer, who }');
        }
        const rating = await broker.rate({
          itemId: body.itemId as string,
          answer: body.answer as number | null,
          who: body.who as string,
        });
        sendJson(response, 200, rating);
        return;
      }
      case 'checkpoints': {
        requireMethod('GET');
        sendJson(response, 200, {
          chat: chat !== undefined,
          checkpoints: await checkpointsOf(run),
          tools: (await chat?.toolScenarios?.(run.directory)) ?? null,
        });
        return;
      }
      case 'chat/tools': {
        requireMethod('POST');
        if (!chat?.tools || !chat.toolScenarios)
          throw new HttpError(409, 'chat with tools is off in this console');
        if ((await chat.toolScenarios(run.directory)) === null)
          throw new HttpError(409, `run ${run.id}'s environment offers no tools`);
        const body = (await readBody(request)) as Record<string, unknown> | null;
        const toolRequest = toolChatRequest(body, run.directory, await checkpointsOf(run));
        sendJson(response, 200, await chat.tools(toolRequest));
        return;
      }
      case 'chat': {
        requireMethod('POST');
        if (!chat)
          throw new HttpError(409, 'chat is off in this console (start it from agent-trainer)');
        const body = (await readBody(request)) as Record<string, unknown> | null;
        const { checkpoint, messages } = chatRequest(body, await checkpointsOf(run));
        const answer = await chat.reply({ runDirectory: run.directory, checkpoint, messages });
        sendJson(response, 200, answer);
        return;
      }
      case 'feedback/stream': {
        requireMethod('GET');
        openStream(request, response);
        const push = () => {
          feedbackState(run).then(
            (state) => send(response, 'feedback', state),
            () => undefined,
          );
        };
        push();
        const broker = brokerByDirectory.get(run.directory);
        if (broker) {
          const stop = broker.onChange(push);
          cleanups.add(stop);
          request.on('close', () => {
            stop();
            cleanups.delete(stop);
          });
        }
        return;
      }
      default:
        throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    }
  };

  const server: Server = createServer((request, response) => {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://console.invalid');
    } catch {
      sendJson(response, 400, { error: 'bad request URL' });
      return;
    }
    const hostHeader = request.headers.host ?? '';
    if (loopback && !isLoopbackHostHeader(hostHeader)) {
      sendJson(response, 403, {
        error: `Host ${JSON.stringify(hostHeader)} is not a loopback name; open the console at ${publicUrl}`,
      });
      return;
    }
    if (!authorized(request, url)) {
      sendJson(response, 401, {
        error: 'missing or wrong token: open the URL the console printed',
      });
      return;
    }
    routes(request, response, url).catch((error: unknown) => {
      if (response.headersSent) {
        response.end();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(response, error.status, { error: error.message });
      } else if (InvalidArgumentError.isInstance(error)) {
        const status = error.argument === 'itemId' ? 409 : 400;
        sendJson(response, status, { error: error.message, field: error.argument });
      } else if (CohortError.isInstance(error)) {
        // A damaged checkpoint or model folder: the run's fault, said in one line.
        sendJson(response, 500, { error: error.message });
      } else {
        sendJson(response, 500, { error: `internal error: ${String(error)}` });
      }
    });
  });
  server.on('clientError', (_error, socket) => {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new InvalidArgumentError({
          argument: 'port',
          value: settings.port,
          message: `cannot listen on ${settings.host}: ${error.code ?? error.message}`,
        }),
      );
    });
    server.listen(settings.port, settings.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : settings.port;
  const shownHost = isIP(settings.host) === 6 ? `[${settings.host}]` : settings.host;
  const publicUrl = `http://${shownHost}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;

  return {
    url: publicUrl,
    port,
    runs,
    close: async () => {
      // A last read, so that clients get what the trainer wrote just before the end.
      await Promise.all([...tails.values()].map((tail) => tail.poll().catch(() => undefined)));
      await new Promise<void>((resolve) => {
        for (const cleanup of cleanups) cleanup();
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The run's checkpoint folders (`step-NNNNNN`), oldest first. */
async function checkpointsOf(run: CatalogRun): Promise<string[]> {
  try {
    const entries = await readdir(path.join(run.directory, 'checkpoints'), { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && /^step-\d+$/.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

const maximumChatMessages = 64;
const maximumChatCharacters = 4_000;

/** A request's `checkpoint`: null (the base model) or one of the run's; anything else is a 400 naming it. */
function checkpointOf(
  body: Record<string, unknown>,
  checkpoints: readonly string[],
): string | null {
  const checkpoint = body.checkpoint ?? null;
  if (checkpoint === null || (typeof checkpoint === 'string' && checkpoints.includes(checkpoint)))
    return checkpoint;
  throw new InvalidArgumentError({
    argument: 'checkpoint',
    value: checkpoint,
    message: `must be null (the base model) or one of the run's checkpoints: ${checkpoints.join(', ') || 'none'}`,
  });
}

/** Checks a chat request; a bad one is a 400 that names the field. */
function chatRequest(
  body: Record<string, unknown> | null,
  checkpoints: readonly string[],
): { checkpoint: string | null; messages: ConsoleChatMessage[] } {
  const bad = (field: string, value: unknown, message: string) =>
    new InvalidArgumentError({ argument: field, value, message });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object { checkpoint, messages }');
  }
  const checkpoint = checkpointOf(body, checkpoints);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > maximumChatMessages) {
    throw bad('messages', messages, `must be an array of 1 to ${maximumChatMessages} messages`);
  }
  messages.forEach((message: unknown, index) => {
    const expected = index % 2 === 0 ? 'user' : 'assistant';
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (role !== expected) {
      throw bad(
        `messages[${index}].role`,
        role,
        `must be "${expected}" (user and assistant alternate, user first)`,
      );
    }
    if (typeof content !== 'string' || content.length > maximumChatCharacters) {
      throw bad(
        `messages[${index}].content`,
        content,
        `must be a string of at most ${maximumChatCharacters} characters`,
      );
    }
  });
  if (messages.length % 2 === 0) {
    throw bad('messages', `${messages.length} messages`, 'must end with a user message');
  }
  return {
    checkpoint,
    messages: messages.map((message: ConsoleChatMessage) => ({
      role: message.role,
      content: message.content,
    })),
  };
}

/** Checks a request of the chat with tools; a bad one is a 400 that names the field. */
function toolChatRequest(
  body: Record<string, unknown> | null,
  runDirectory: string,
  checkpoints: readonly string[],
): ConsoleToolRequest {
  const bad = (field: string, value: unknown, message: string) =>
    new InvalidArgumentError({ argument: field, value, message });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object { action, ... }');
  }
  const { action } = body;
  if (action === 'start') {
    const checkpoint = checkpointOf(body, checkpoints);
    const scenario = body.scenario ?? null;
    if (scenario !== null && (typeof scenario !== 'string' || scenario.length > 200)) {
      throw bad('scenario', scenario, 'must be a scenario id or null (a fresh scenario)');
    }
    return { action, runDirectory, checkpoint, scenario };
  }
  if (action !== 'say' && action !== 'close') {
    throw bad('action', action, 'must be "start", "say" or "close"');
  }
  const { session } = body;
  if (typeof session !== 'string' || session.length === 0 || session.length > 100) {
    throw bad('session', session, 'must be the session id that "start" returned');
  }
  if (action === 'close') return { action, runDirectory, session };
  const { message } = body;
  if (
    typeof message !== 'string' ||
    message.trim() === '' ||
    message.length > maximumChatCharacters
  ) {
    throw bad(
      'message',
      message,
      `must be a non-empty string of at most ${maximumChatCharacters} characters`,
    );
  }
  return { action, runDirectory, session, message };
}

/** Each tail update is serialized once, however many clients it goes to. */
const serializedUpdates = new WeakMap<TailUpdate, string>();
function serializedEvent(update: TailUpdate): string {
  let text = serializedUpdates.get(update);
  if (text === undefined) {
    const data = update.type === 'records' ? update.records : null;
    text = `event: ${update.type}\ndata: ${JSON.stringify(data, finiteOrString)}\n\n`;
    serializedUpdates.set(update, text);
  }
  return text;
}

function isLoopbackHostHeader(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function finiteOrString(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}
