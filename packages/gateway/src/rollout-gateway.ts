import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, type Message, type Policy, parseWithSchema } from '@cohort/core';
import {
  formatToolCalls,
  parseToolCalls,
  type ToolPromptStyle,
  toolInstructionsFor,
} from '@cohort/environments';
import { ConversationTokens } from '@cohort/trainer';
import {
  type ChatCompletionRequest,
  ChatCompletionRequestSchema,
  type ChatMessage,
  contentText,
} from './chat-request';
import {
  type AssistantEcho,
  type Episode,
  EpisodeRecorder,
  type RecordedCall,
  type Segment,
} from './episode-recorder';
import { type EpisodeTask, taskBody } from './episode-task';
import { OpenAiError } from './openai-error';
import { type RolloutGatewayOptions, RolloutGatewayOptionsSchema } from './rollout-gateway-options';

/** What {@link RolloutGateway.waitForEpisodes} gives back. */
export interface EpisodeWaitReport {
  /** Episodes whose reward was posted, in the order asked. */
  completed: Episode[];
  /** Episode ids with no reward when the wait ended, or idle past `episodeTimeoutMs`. */
  timedOut: string[];
}

/** Counters of the gateway, for metrics. */
export interface GatewayStatistics {
  calls: number;
  /** Calls whose messages did not extend a recorded segment of their episode (a new segment began). */
  newSegments: number;
  /** Tool calls in completions that could not be parsed (returned as text). */
  malformedToolCalls: number;
  /** Requests refused with a 4xx answer. */
  rejectedRequests: number;
}

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * An OpenAI-compatible HTTP server that answers chat completions with the
 * policy being trained and records every call per episode with its exact
 * prompt and completion token ids and behaviour log-probs, so an agent
 * program written against an OpenAI-style API produces training episodes
 * unchanged but for its `baseURL`.
 *
 * Routes: `GET /v1/models`, `POST /v1/chat/completions` (streaming and not,
 * `n`, `temperature`, `top_p`, `max_tokens`, `stop`, `seed`, `tools` with
 * `tool_choice` `auto` or `none`, `logprobs`), `POST /v1/episodes/{id}/reward`
 * (`{ reward, success?, callRewards? }`), `GET /v1/episodes/{id}`.
 * The episode id comes from the `x-episode-id` header or the `user` field;
 * calls without one are answered and not recorded.
 *
 * @example
 * ```ts
 * const gateway = await createRolloutGateway({ policy, contextLength: 1024 });
 * const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
 * ```
 */
export class RolloutGateway {
  readonly statistics: GatewayStatistics = {
    calls: 0,
    newSegments: 0,
    malformedToolCalls: 0,
    rejectedRequests: 0,
  };
  private readonly recorder: EpisodeRecorder;
  private readonly options: ReturnType<typeof RolloutGatewayOptionsSchema.parse>;
  private readonly waiters = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private server: Server | undefined;
  private temperatures = new Map<string, number>();
  private readonly tasks: EpisodeTask[] = [];
  private readonly taskWaiters = new Set<() => void>();
  private finished = false;
  private waitsStopped = false;

  private constructor(
    private readonly policy: Policy,
    options: RolloutGatewayOptions,
  ) {
    this.options = parseWithSchema(RolloutGatewayOptionsSchema, options, 'rollout gateway options');
    if (!loopbackHosts.has(this.options.host) && this.options.apiKey === undefined) {
      throw new InvalidArgumentError({
        argument: 'apiKey',
        value: undefined,
        message: `is required when the gateway binds to ${this.options.host} (not loopback)`,
      });
    }
    this.recorder = new EpisodeRecorder(policy.tokenizer);
  }

  /** Starts a gateway over `policy`. */
  static async start(options: RolloutGatewayOptions & { policy: Policy }): Promise<RolloutGateway> {
    const { policy, ...rest } = options;
    const gateway = new RolloutGateway(policy, rest);
    const server = createServer((request, response) => {
      gateway.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          gateway.send(response, 500, new OpenAiError(500, 'server_error', String(error)).body());
        else response.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(gateway.options.port, gateway.options.host, () => resolve());
    });
    gateway.server = server;
    return gateway;
  }

  /** `http://host:port` of the running gateway. */
  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (address === undefined)
      throw new InvalidArgumentError({
        argument: 'gateway',
        value: 'closed',
        message: 'is not listening',
      });
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /**
   * Runs `work` with the policy to itself: calls wait until it ends. The
   * trainer updates the weights inside it, so no call samples from half-updated weights.
   */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const result = this.queue.then(() => work());
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The recorded episode, if any. */
  episode(episodeId: string): Episode | undefined {
    return this.recorder.episodes.get(episodeId);
  }

  /** Temperature of the calls of an episode (one value; mixed temperatures are refused at record time). */
  temperatureOf(episodeId: string): number | undefined {
    return this.temperatures.get(episodeId);
  }

  /** Forgets an episode (after the trainer took it). */
  forget(episodeId: string): void {
    this.recorder.episodes.delete(episodeId);
    this.temperatures.delete(episodeId);
  }

  /**
   * Waits until every episode has its reward posted, or `timeoutMs` passes;
   * an episode idle for `episodeTimeoutMs` is given up early.
   */
  async waitForEpisodes(
    episodeIds: readonly string[],
    options: { timeoutMs: number },
  ): Promise<EpisodeWaitReport> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const now = Date.now();
      const idle = (id: string) => {
        const episode = this.recorder.episodes.get(id);
        return (
          episode !== undefined && now - episode.lastActivityAt > this.options.episodeTimeoutMs
        );
      };
      const open = episodeIds.filter(
        (id) => this.recorder.episodes.get(id)?.reward == null && !idle(id),
      );
      if (open.length === 0 || now >= deadline || this.waitsStopped) {
        const completed = episodeIds.flatMap((id) => {
          const episode = this.recorder.episodes.get(id);
          return episode !== undefined && episode.reward !== null ? [episode] : [];
        });
        return {
          completed,
          timedOut: episodeIds.filter((id) => this.recorder.episodes.get(id)?.reward == null),
        };
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(deadline - now, 250));
        this.waiters.add(wake);
      });
    }
  }

  /**
   * Ends every wait for episodes now, and any later one at once: the episodes
   * still without a reward count as timed out. For a run that is stopping
   * (Ctrl-C) while no agent is running its tasks.
   */
  stopWaiting(): void {
    this.waitsStopped = true;
    for (const wake of [...this.waiters]) wake();
  }

  /** The version of the policy the gateway serves now. */
  get policyVersion(): number {
    return this.policy.version;
  }

  /** Queues tasks for the agent program, which takes them with `POST /v1/tasks/next`. */
  offerTasks(tasks: readonly EpisodeTask[]): void {
    if (this.finished)
      throw new InvalidArgumentError({
        argument: 'tasks',
        value: tasks.length,
        message: 'cannot be offered after finishTasks()',
      });
    this.tasks.push(...tasks);
    for (const wake of [...this.taskWaiters]) wake();
  }

  /** Removes tasks not yet taken; returns the ids removed. */
  withdrawTasks(episodeIds: readonly string[]): string[] {
    const withdrawn = new Set(episodeIds);
    const removed: string[] = [];
    for (let index = this.tasks.length - 1; index >= 0; index--) {
      const task = this.tasks[index]!;
      if (withdrawn.has(task.episodeId)) {
        removed.push(task.episodeId);
        this.tasks.splice(index, 1);
      }
    }
    return removed;
  }

  /** Tells the agent program there will be no more tasks: `POST /v1/tasks/next` answers `done: true`. */
  finishTasks(): void {
    this.finished = true;
    for (const wake of [...this.taskWaiters]) wake();
  }

  /** The next task, waiting up to `waitMs` for one; null when none came or tasks are finished. */
  async nextTask(waitMs: number): Promise<EpisodeTask | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const task = this.tasks.shift();
      if (task !== undefined) {
        // The task counts as activity: its idle clock starts when the agent takes it.
        this.recorder.episode(task.episodeId).lastActivityAt = Date.now();
        return task;
      }
      const left = deadline - Date.now();
      if (this.finished || left <= 0) return null;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.taskWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.taskWaiters.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    this.finishTasks();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      this.authenticate(request);
      const url = new URL(request.url ?? '/', 'http://gateway');
      const episodeRoute = url.pathname.match(/^\/v1\/episodes\/([^/]+)(\/reward)?$/);
      if (request.method === 'GET' && url.pathname === '/v1/models') {
        this.send(response, 200, {
          object: 'list',
          data: [{ id: this.options.modelName, object: 'model', created: 0, owned_by: 'cohort' }],
        });
      } else if (request.method === 'POST' && url.pathname === '/v1/tasks/next') {
        const waitMs = taskWait(await this.readJson(request, { allowEmpty: true }));
        const task = await this.nextTask(waitMs);
        this.send(response, 200, {
          task: task === null ? null : taskBody(task),
          done: task === null && this.finished,
        });
      } else if (request.method === 'POST' && url.pathname === '/v1/chat/completions') {
        const body = parseWithOpenAiError(await this.readJson(request));
        await this.exclusive(() => this.complete(request, response, body));
      } else if (
        episodeRoute !== null &&
        request.method === 'POST' &&
        episodeRoute[2] === '/reward'
      ) {
        this.postReward(decodeURIComponent(episodeRoute[1]!), await this.readJson(request));
        this.send(response, 200, { ok: true });
      } else if (
        episodeRoute !== null &&
        request.method === 'GET' &&
        episodeRoute[2] === undefined
      ) {
        const episode = this.episode(decodeURIComponent(episodeRoute[1]!));
        if (episode === undefined)
          throw new OpenAiError(
            404,
            'not_found_error',
            `no episode '${episodeRoute[1]}'`,
            'episode_id',
          );
        this.send(response, 200, describeEpisode(episode));
      } else {
        throw new OpenAiError(404, 'not_found_error', `no route ${request.method} ${url.pathname}`);
      }
    } catch (error) {
      if (!(error instanceof OpenAiError)) throw error;
      this.statistics.rejectedRequests++;
      this.send(response, error.status, error.body());
    }
  }

  private authenticate(request: IncomingMessage): void {
    const key = this.options.apiKey;
    if (key === undefined) return;
    const given = Buffer.from(request.headers.authorization?.replace(/^Bearer\s+/i, '') ?? '');
    const expected = Buffer.from(key);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new OpenAiError(
        401,
        'authentication_error',
        'Incorrect API key provided.',
        null,
        'invalid_api_key',
      );
    }
  }

  private readJson(
    request: IncomingMessage,
    options: { allowEmpty?: boolean } = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.options.maxBodyBytes) {
          reject(
            new OpenAiError(
              413,
              'invalid_request_error',
              `request body over ${this.options.maxBodyBytes} bytes`,
            ),
          );
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      request.on('end', () => {
        try {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve(options.allowEmpty && text.trim() === '' ? undefined : JSON.parse(text));
        } catch (error) {
          reject(
            new OpenAiError(
              400,
              'invalid_request_error',
              `body is not valid JSON: ${(error as Error).message}`,
            ),
          );
        }
      });
      request.on('error', reject);
    });
  }

  private postReward(episodeId: string, body: unknown): void {
    const episode = this.recorder.episodes.get(episodeId);
    if (episode === undefined)
      throw new OpenAiError(404, 'not_found_error', `no episode '${episodeId}'`, 'episode_id');
    const record = (body ?? {}) as { reward?: unknown; success?: unknown; callRewards?: unknown };
    if (typeof record.reward !== 'number' || !Number.isFinite(record.reward)) {
      throw new OpenAiError(
        400,
        'invalid_request_error',
        `reward must be a finite number, got ${JSON.stringify(record.reward)}`,
        'reward',
      );
    }
    if (record.success !== undefined && typeof record.success !== 'boolean') {
      throw new OpenAiError(
        400,
        'invalid_request_error',
        `success must be a boolean, got ${JSON.stringify(record.success)}`,
        'success',
      );
    }
    const calls = new Map<string, RecordedCall>();
    for (const segment of episode.segments)
      for (const call of segment.calls) calls.set(call.callId, call);
    const callRewards = (record.callRewards ?? {}) as Record<string, unknown>;
    for (const [callId, value] of Object.entries(callRewards)) {
      if (!calls.has(callId))
        throw new OpenAiError(
          400,
          'invalid_request_error',
          `no call '${callId}' in episode '${episodeId}'`,
          'callRewards',
        );
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new OpenAiError(
          400,
          'invalid_request_error',
          `callRewards.${callId} must be a finite number`,
          `callRewards.${callId}`,
        );
      }
    }
    for (const [callId, value] of Object.entries(callRewards)) {
      // A call id names every branch of an n > 1 call; each branch gets the reward.
      for (const segment of episode.segments)
        for (const call of segment.calls) if (call.callId === callId) call.reward = value as number;
    }
    episode.reward = record.reward;
    episode.success = (record.success as boolean | undefined) ?? null;
    episode.lastActivityAt = Date.now();
    for (const wake of [...this.waiters]) wake();
  }

  private async complete(
    request: IncomingMessage,
    response: ServerResponse,
    body: ChatCompletionRequest,
  ): Promise<void> {
    if (body.model !== this.options.modelName) {
      throw new OpenAiError(
        404,
        'invalid_request_error',
        `The model '${body.model}' does not exist; this gateway serves '${this.options.modelName}'.`,
        'model',
        'model_not_found',
      );
    }
    const header = request.headers['x-episode-id'];
    const episodeId = (Array.isArray(header) ? header[0] : header) ?? body.user;
    const format = this.options.toolCallFormat;
    const { messages, echoes } = toTemplateMessages(body, format, this.options.toolPromptStyle);
    const temperature = body.temperature ?? 1;
    const n = body.n ?? 1;

    let segments: Segment[] | undefined;
    let prompt: number[];
    if (episodeId !== undefined) {
      const known = this.temperatures.get(episodeId);
      if (known !== undefined && known !== temperature) {
        throw new OpenAiError(
          400,
          'invalid_request_error',
          `temperature ${temperature} differs from ${known} of earlier calls in episode '${episodeId}'`,
          'temperature',
        );
      }
      const placement = this.placeOrThrow(episodeId, messages, echoes);
      if (!placement.continued) this.statistics.newSegments++;
      this.temperatures.set(episodeId, temperature);
      segments = [placement.segment];
      for (let choice = 1; choice < n; choice++)
        segments.push(this.recorder.branch(episodeId, placement.segment));
      prompt = placement.segment.tokens.prompt();
    } else {
      prompt = promptOrThrow(this.policy, messages);
    }
    const maxTokens =
      body.max_completion_tokens ??
      body.max_tokens ??
      Math.min(this.options.defaultMaxTokens, this.options.contextLength - prompt.length);
    if (maxTokens < 1 || prompt.length + maxTokens > this.options.contextLength) {
      throw new OpenAiError(
        400,
        'invalid_request_error',
        `This model's maximum context length is ${this.options.contextLength} tokens. However, you requested ${prompt.length + Math.max(maxTokens, 1)} tokens (${prompt.length} in the messages, ${Math.max(maxTokens, 1)} in the completion).`,
        'messages',
        'context_length_exceeded',
      );
    }
    const tokenizer = this.policy.tokenizer;
    const stopTokenIds = [
      ...new Set([tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId, tokenizer.eosTokenId]),
    ];
    // Stamped before sampling: a call that overlaps a weight update counts as the older version.
    const version = this.policy.version;
    const completions = await this.policy.sample({
      prompts: [prompt],
      groupSize: n,
      seed: body.seed ?? randomBytes(4).readUInt32LE(0),
      maxNewTokens: maxTokens,
      temperature,
      ...(body.top_p == null ? {} : { topP: body.top_p }),
      stopTokenIds,
    });
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const stops = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
    const offerTools = (body.tools?.length ?? 0) > 0 && body.tool_choice !== 'none';
    const choices = completions.map((completion, index) => {
      const cut = cutAtStop(completion.tokenIds, stops, (ids) =>
        tokenizer.decode(ids, { skipSpecialTokens: true }),
      );
      const tokenIds = completion.tokenIds.slice(0, cut.tokenCount);
      const logProbs = completion.logProbsPerToken.slice(0, cut.tokenCount);
      // Trimmed as in-process rollouts trim it, so both render the same template around it.
      const rawText = tokenizer.decode(tokenIds, { skipSpecialTokens: true }).trim();
      const shownText = cut.text === undefined ? rawText : cut.text.trim();
      const parsed = offerTools
        ? parseToolCalls(shownText, format)
        : { attempts: [], content: shownText };
      const calls = parsed.attempts.flatMap((attempt) =>
        attempt.kind === 'call' ? [attempt.call] : [],
      );
      this.statistics.malformedToolCalls += parsed.attempts.length - calls.length;
      const toolCalls = calls.map((call) => ({
        id: `call_${randomBytes(8).toString('hex')}`,
        type: 'function' as const,
        function: { name: call.name, arguments: JSON.stringify(call.arguments) },
      }));
      const content =
        calls.length > 0 && parsed.attempts.length === calls.length ? parsed.content : shownText;
      const finishReason: RecordedCall['finishReason'] =
        toolCalls.length > 0
          ? 'tool_calls'
          : completion.finishReason === 'length' && cut.text === undefined
            ? 'length'
            : 'stop';
      const segment = segments?.[index];
      if (segment !== undefined) {
        const echo: AssistantEcho = {
          content,
          toolCalls: calls.map((call) => ({ name: call.name, arguments: call.arguments })),
        };
        this.recorder.recordCompletion({
          segment,
          callId: id,
          policyVersion: version,
          tokenIds,
          logProbsPerToken: logProbs,
          rawText,
          echo,
          finishReason,
        });
      }
      return {
        index,
        message: {
          role: 'assistant' as const,
          content: content.length === 0 && toolCalls.length > 0 ? null : content,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null,
        },
        finish_reason: finishReason,
        logprobs: body.logprobs
          ? {
              content: tokenIds.map((tokenId, position) => ({
                token: tokenizer.decode([tokenId]),
                logprob: logProbs[position]!,
                bytes: null,
                top_logprobs: [],
              })),
            }
          : null,
        completionTokens: tokenIds.length,
      };
    });
    this.statistics.calls++;
    const completionTokens = choices.reduce((sum, choice) => sum + choice.completionTokens, 0);
    const usage = {
      prompt_tokens: prompt.length,
      completion_tokens: completionTokens,
      total_tokens: prompt.length + completionTokens,
    };
    const headers = {
      'x-cohort-policy-version': String(version),
      'x-cohort-recorded': String(episodeId !== undefined),
    };
    const fingerprint = `cohort-policy-v${version}`;
    if (!body.stream) {
      this.send(
        response,
        200,
        {
          id,
          object: 'chat.completion',
          created,
          model: this.options.modelName,
          system_fingerprint: fingerprint,
          choices: choices.map(({ completionTokens: _, ...choice }) => choice),
          usage,
        },
        headers,
      );
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    const chunk = (choicesDelta: unknown[], extra: object = {}) =>
      response.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: this.options.modelName, system_fingerprint: fingerprint, choices: choicesDelta, ...extra })}\n\n`,
      );
    for (const choice of choices) {
      chunk([
        { index: choice.index, delta: { role: 'assistant', content: '' }, finish_reason: null },
      ]);
      if (choice.message.content)
        chunk([
          { index: choice.index, delta: { content: choice.message.content }, finish_reason: null },
        ]);
      if (choice.message.tool_calls) {
        chunk([
          {
            index: choice.index,
            delta: {
              tool_calls: choice.message.tool_calls.map((call, position) => ({
                index: position,
                ...call,
              })),
            },
            finish_reason: null,
          },
        ]);
      }
      chunk([{ index: choice.index, delta: {}, finish_reason: choice.finish_reason }]);
    }
    if (body.stream_options?.include_usage) chunk([], { usage });
    response.end('data: [DONE]\n\n');
  }

  private placeOrThrow(episodeId: string, messages: Message[], echoes: (AssistantEcho | null)[]) {
    try {
      return this.recorder.place(episodeId, messages, echoes);
    } catch (error) {
      if (InvalidArgumentError.isInstance(error))
        throw new OpenAiError(400, 'invalid_request_error', error.message, 'messages');
      throw error;
    }
  }

  private send(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }
}

/** Starts a {@link RolloutGateway}. */
export function createRolloutGateway(
  options: RolloutGatewayOptions & { policy: Policy },
): Promise<RolloutGateway> {
  return RolloutGateway.start(options);
}

function parseWithOpenAiError(body: unknown): ChatCompletionRequest {
  const parsed = ChatCompletionRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.map(String).join('.');
  const message =
    issue.code === 'unrecognized_keys'
      ? `Unrecognized request argument supplied: ${issue.keys.join(', ')}`
      : `Invalid value for '${param}': ${issue.message}`;
  return throwError(
    new OpenAiError(
      400,
      'invalid_request_error',
      message,
      issue.code === 'unrecognized_keys' ? issue.keys[0]! : param,
    ),
  );
}

/** `wait_ms` of a `POST /v1/tasks/next` body: how long to wait for a task (at most 60 s). */
function taskWait(body: unknown): number {
  const waitMs = (body ?? {}) as { wait_ms?: unknown };
  if (waitMs.wait_ms === undefined) return 0;
  if (
    typeof waitMs.wait_ms !== 'number' ||
    !Number.isInteger(waitMs.wait_ms) ||
    waitMs.wait_ms < 0 ||
    waitMs.wait_ms > 60_000
  ) {
    throw new OpenAiError(
      400,
      'invalid_request_error',
      `wait_ms must be an integer from 0 to 60000, got ${JSON.stringify(waitMs.wait_ms)}`,
      'wait_ms',
    );
  }
  return waitMs.wait_ms;
}

function throwError(error: Error): never {
  throw error;
}

/**
 * The messages as the chat template renders them: tool definitions appended
 * to the system prompt in the format's wording, assistant tool calls written
 * back in the format, and for each assistant message what the agent shows of it.
 */
function toTemplateMessages(
  body: ChatCompletionRequest,
  format: 'hermes' | 'llama3-json',
  style: ToolPromptStyle,
) {
  const messages: Message[] = [];
  const echoes: (AssistantEcho | null)[] = [];
  for (const message of body.messages) {
    const text = contentText(message.content);
    if (message.role === 'assistant') {
      const toolCalls = (message.tool_calls ?? []).map((call) => ({
        name: call.function.name,
        arguments: parseArguments(call),
      }));
      const raw =
        toolCalls.length === 0
          ? text
          : [text, formatToolCalls(toolCalls, format)].filter((part) => part.length > 0).join('\n');
      messages.push({ role: 'assistant', content: raw });
      echoes.push({ content: text, toolCalls });
    } else {
      messages.push({
        role: message.role === 'developer' ? 'system' : message.role,
        content: text,
      });
      echoes.push(null);
    }
  }
  if ((body.tools?.length ?? 0) > 0 && body.tool_choice !== 'none') {
    const instructions = toolInstructionsFor(
      body.tools!.map((tool) => ({
        type: 'function',
        function: { description: '', parameters: {}, ...tool.function },
      })),
      format,
      style,
    );
    if (messages[0]?.role === 'system')
      messages[0] = { role: 'system', content: `${messages[0].content}\n\n${instructions}` };
    else {
      messages.unshift({ role: 'system', content: instructions });
      echoes.unshift(null);
    }
  }
  return { messages, echoes };
}

function parseArguments(
  call: NonNullable<Extract<ChatMessage, { role: 'assistant' }>['tool_calls']>[number],
): Record<string, unknown> {
  try {
    const value = JSON.parse(call.function.arguments) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new OpenAiError(
    400,
    'invalid_request_error',
    `tool call '${call.id}' has arguments that are not a JSON object`,
    'messages',
  );
}

function promptOrThrow(policy: Policy, messages: Message[]): number[] {
  try {
    return new ConversationTokens(policy.tokenizer, messages).prompt();
  } catch (error) {
    if (InvalidArgumentError.isInstance(error))
      throw new OpenAiError(400, 'invalid_request_error', error.message, 'messages');
    throw error;
  }
}

/**
 * Where a completion ends at the first stop string: the fewest sampled tokens
 * whose text contains it (those tokens stay exactly as sampled) and the text
 * before it (OpenAI leaves the stop string out).
 */
export function cutAtStop(
  tokenIds: readonly number[],
  stops: readonly string[],
  decode: (tokenIds: readonly number[]) => string,
): { tokenCount: number; text?: string } {
  if (stops.length === 0) return { tokenCount: tokenIds.length };
  for (let count = 1; count <= tokenIds.length; count++) {
    const text = decode(tokenIds.slice(0, count));
    let first = -1;
    for (const stop of stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) return { tokenCount: count, text: text.slice(0, first) };
  }
  return { tokenCount: tokenIds.length };
}

function describeEpisode(episode: Episode) {
  return {
    episode_id: episode.episodeId,
    reward: episode.reward,
    success: episode.success,
    segments: episode.segments.map((segment) => ({
      index: segment.index,
      token_ids: segment.tokens.tokenIds,
      loss_mask: segment.tokens.lossMask,
      behavior_log_probs: segment.tokens.behaviorLogProbs,
      messages: segment.messages,
      calls: segment.calls,
    })),
  };
}
