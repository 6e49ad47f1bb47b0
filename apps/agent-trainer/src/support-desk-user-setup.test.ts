import { ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { defaultModelDirectory, resolveAppConfig, type SupportDeskUserConfig } from './app-config';
import { UsageError } from './exit-codes';
import { createSupportDeskUserSetup, supportDeskUserSummaryLines } from './support-desk-user-setup';

function issuesOf(user: unknown) {
  try {
    resolveAppConfig({ environment: { type: 'support-desk', user } });
  } catch (error) {
    if (ValidationError.isInstance(error)) return error.issues;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

function userOf(user: unknown): SupportDeskUserConfig {
  const { environment } = resolveAppConfig({ environment: { type: 'support-desk', user } });
  if (environment.type !== 'support-desk') throw new Error('not the support desk');
  return environment.user;
}

describe('environment.user of the support desk', () => {
  it('is the scripted customer by default, and an LLM customer with the library defaults', () => {
    expect(userOf(undefined)).toEqual({ type: 'scripted' });
    expect(
      userOf({ type: 'llm', endpoint: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm' } }),
    ).toEqual({
      type: 'llm',
      endpoint: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm' },
      temperature: 0.7,
      maxTokens: 64,
      timeoutMs: 30_000,
      maxCharacters: 400,
      historyMessages: 8,
    });
  });

  it('names the field and the value of every bad setting', () => {
    expect(issuesOf({ type: 'llm' })).toEqual([
      { path: 'environment.user.model', message: expect.stringContaining('needs model') },
    ]);
    expect(
      issuesOf({ type: 'llm', model: 'folder', endpoint: { baseUrl: 'http://a/v1', model: 'm' } }),
    ).toEqual([
      {
        path: 'environment.user.endpoint',
        message: expect.stringContaining('not both (model "folder")'),
      },
    ]);
    expect(issuesOf({ type: 'llm', endpoint: { baseUrl: 'localhost:8000', model: 'm' } })).toEqual([
      {
        path: 'environment.user.endpoint.baseUrl',
        message: expect.stringContaining('got "localhost:8000"'),
      },
    ]);
    expect(
      issuesOf({
        type: 'llm',
        endpoint: { baseUrl: 'http://a/v1', model: 'm', apiKeyEnv: 'sk-123' },
      }),
    ).toEqual([
      {
        path: 'environment.user.endpoint.apiKeyEnv',
        message: expect.stringContaining('got "sk-123"'),
      },
    ]);
    expect(issuesOf({ type: 'llm', model: 'folder', temperature: -1 })[0]).toMatchObject({
      path: 'environment.user.temperature',
    });
    expect(issuesOf({ type: 'llm', model: 'folder', timeoutMs: 0 })[0]).toMatchObject({
      path: 'environment.user.timeoutMs',
    });
    expect(issuesOf({ type: 'llm', model: 'folder', maxTokens: 1.5 })[0]).toMatchObject({
      path: 'environment.user.maxTokens',
    });
    expect(issuesOf({ type: 'robot' })[0]).toMatchObject({ path: 'environment.user.type' });
    expect(issuesOf({ type: 'scripted', model: 'folder' })[0]).toMatchObject({
      path: 'environment.user.model',
      message: expect.stringContaining('unknown key'),
    });
  });
});

describe('createSupportDeskUserSetup', () => {
  const llm = {
    temperature: 0.5,
    maxTokens: 16,
    timeoutMs: 5000,
    maxCharacters: 300,
    historyMessages: 4,
  };

  it('builds nothing for the scripted customer, and says so', async () => {
    const setup = await createSupportDeskUserSetup({ type: 'scripted' });
    expect(setup.user).toBeUndefined();
    expect(setup.description).toBe('customer: scripted (tells what the agent asks for)');
  });

  it('reads an endpoint key from the named variable, refuses one that is not set, and caches only at temperature 0', async () => {
    const endpoint = { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKeyEnv: 'CUSTOMER_KEY' };
    const refused = createSupportDeskUserSetup({ type: 'llm', endpoint, ...llm }, {});
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(
      'environment.user.endpoint.apiKeyEnv "CUSTOMER_KEY": the environment variable CUSTOMER_KEY is not set',
    );
    const warm = await createSupportDeskUserSetup(
      { type: 'llm', endpoint, ...llm },
      { CUSTOMER_KEY: 'secret' },
    );
    expect(warm.user!.options).toMatchObject({
      temperature: 0.5,
      maxTokens: 16,
      timeoutMs: 5000,
      maxCharacters: 300,
      historyMessages: 4,
      cache: null,
    });
    expect(warm.user!.name).toBe('llm-user:openai-compatible:m');
    expect(warm.description).toBe(
      'customer: LLM, endpoint http://127.0.0.1:9/v1 model m (key from $CUSTOMER_KEY), temperature 0.5, maxTokens 16, timeoutMs 5000, answers not cached; a bad answer falls back to the scripted customer',
    );
    expect(warm.description).not.toContain('secret');
    const greedy = await createSupportDeskUserSetup({
      type: 'llm',
      endpoint: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm' },
      ...llm,
      temperature: 0,
    });
    expect(greedy.user!.options.cache).toBeInstanceOf(Map);
  });

  it('loads a local transformers.js folder, and names the field of a missing one', async () => {
    const missing = createSupportDeskUserSetup({
      type: 'llm',
      model: '/nonexistent/customer',
      ...llm,
    });
    await expect(missing).rejects.toThrow(UsageError);
    await expect(missing).rejects.toThrow('environment.user.model "/nonexistent/customer"');
    const local = await createSupportDeskUserSetup({
      type: 'llm',
      model: defaultModelDirectory,
      ...llm,
    });
    expect(local.user!.name).toBe(`llm-user:local:${defaultModelDirectory}`);
    expect(local.user!.options.cache).toBeInstanceOf(Map);
    expect(local.description).toContain(`local model ${defaultModelDirectory}`);
  });
});

describe('supportDeskUserSummaryLines', () => {
  it('states the answers, the fallbacks by reason and the timeouts', () => {
    expect(
      supportDeskUserSummaryLines({
        calls: 12,
        cached: 2,
        replies: 6,
        stops: 1,
        fallbacks: 5,
        fallbacksByReason: { empty: 0, 'too-long': 1, leak: 2, timeout: 2, request: 0 },
        gaveUp: 3,
        durationMs: 900,
      }),
    ).toEqual([
      'LLM customer: 12 answers (2 cached), 6 passed on, 1 ended the conversation, 5 fell back to the scripted customer (too-long 1, leak 2, timeout 2), 2 timed out, 3 gave up by patience',
    ]);
  });
});
