import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Scenario } from '@cohort/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './cli-process';

interface TaskBody {
  episode_id: string;
  scenario: Scenario;
  seed: number;
  temperature: number;
  max_tokens: number;
  policy_version: number;
}

/** What the test's agent saw of one episode. */
interface AgentEpisode {
  episodeId: string;
  taskVersion: number;
  /** `cohort-policy-vN` of the completion: the version that answered. */
  fingerprint: string | null | undefined;
  reply: string;
  reward: number;
}

const apiKey = 'e2e-gateway-key-0123456789';

/**
 * An agent program of its own, written against the real `openai` client: it
 * takes tasks from the gateway, answers the scenario's opening message, and
 * posts as reward the share of the scenario's success phrases its reply
 * contains (checked by code), until the gateway says there are no more tasks
 * or goes away.
 */
async function runAgent(baseUrl: string, model: string): Promise<AgentEpisode[]> {
  const episodes: AgentEpisode[] = [];
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  for (;;) {
    let body: { task: TaskBody | null; done: boolean };
    try {
      const response = await fetch(`${baseUrl}/tasks/next`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ wait_ms: 500 }),
      });
      body = (await response.json()) as typeof body;
    } catch {
      return episodes; // the command ended and closed the gateway
    }
    if (body.done) return episodes;
    const task = body.task;
    if (task === null) continue;
    const client = new OpenAI({
      baseURL: baseUrl,
      apiKey,
      defaultHeaders: { 'x-episode-id': task.episode_id },
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: task.scenario.user.opening }],
      temperature: task.temperature,
      max_tokens: task.max_tokens,
      seed: task.seed,
    });
    const reply = completion.choices[0]?.message.content ?? '';
    const phrases = task.scenario.successCriteria.flatMap((criterion) => criterion.anyOf ?? []);
    const said = phrases.filter((phrase) => reply.toLowerCase().includes(phrase.toLowerCase()));
    // A small length term keeps the group's rewards apart when no phrase is said.
    const reward = said.length / Math.max(1, phrases.length) + Math.min(reply.length, 60) / 600;
    const posted = await fetch(`${baseUrl}/episodes/${task.episode_id}/reward`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ reward }),
    });
    expect(posted.status).toBe(200);
    episodes.push({
      episodeId: task.episode_id,
      taskVersion: task.policy_version,
      fingerprint: completion.system_fingerprint,
      reply,
      reward,
    });
  }
}

/** Runs `agent-trainer gateway ARGS` and the agent against the URL it prints. */
async function gatewayRun(
  args: readonly string[],
  onUrl?: (baseUrl: string) => Promise<void>,
): Promise<{ result: CliResult; episodes: AgentEpisode[]; baseUrl: string }> {
  let agent: Promise<AgentEpisode[]> | undefined;
  let baseUrl = '';
  const result = await runCli(['gateway', ...args, '--api-key', apiKey], (_child, stderr) => {
    const poll = setInterval(() => {
      const found = /gateway: base URL (\S+), model (\S+),/.exec(stderr());
      if (!found) return;
      clearInterval(poll);
      baseUrl = found[1]!;
      agent = (async () => {
        await onUrl?.(baseUrl);
        return runAgent(baseUrl, found[2]!);
      })();
    }, 100);
    _child.on('close', () => clearInterval(poll));
  });
  return { result, episodes: agent ? await agent : [], baseUrl };
}

let scratch: string;
let configPath: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-gateway-e2e-'));
  configPath = path.join(scratch, 'gateway.yaml');
  await writeFile(
    configPath,
    [
      'name: gateway',
      'trainer:',
      '  seed: 7',
      '  steps: 2',
      '  scenariosPerStep: 1',
      '  groupSize: 2',
      '  minibatchSize: 2',
      '  generation: { maxNewTokens: 12 }',
      '  evaluation: { everySteps: 2, maxScenarios: 1 }',
      '  checkpoint: { everySteps: 1, keep: 3 }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// The two runs are independent processes in folders of their own: they run at once.
describe.concurrent('agent-trainer gateway', () => {
  it('trains the policy from the episodes an openai-client agent runs through it, and resumes', async () => {
    const runDirectory = path.join(scratch, 'run');
    let models: string[] = [];
    let refused: unknown;
    const first = await gatewayRun(
      ['--config', configPath, '--run-dir', runDirectory, '--served-model', 'desk-agent'],
      async (baseUrl) => {
        models = (await new OpenAI({ baseURL: baseUrl, apiKey }).models.list()).data.map(
          (model) => model.id,
        );
        refused = await new OpenAI({
          baseURL: baseUrl,
          apiKey: 'a-wrong-key-0123456789',
          maxRetries: 0,
        }).models
          .list()
          .catch((error: unknown) => error);
      },
    );
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(first.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(first.result.stderr).toContain(`API key ${apiKey}`);
    expect(models).toEqual(['desk-agent']);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);

    // Two steps of one group of two: the agent ran every task, and each answer came from the version the task named.
    expect(first.episodes).toHaveLength(4);
    for (const episode of first.episodes)
      expect(episode.fingerprint).toBe(`cohort-policy-v${episode.taskVersion}`);
    const [stepOne, stepTwo] = [first.episodes.slice(0, 2), first.episodes.slice(2)];
    expect(new Set(stepOne.map((episode) => episode.taskVersion)).size).toBe(1);
    // The second step's tasks were answered by the policy the first step updated.
    expect(stepTwo[0]!.taskVersion).toBeGreaterThan(stepOne[0]!.taskVersion);

    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'completed', stepsCompleted: 2 });
    expect(summary.evaluationBefore.episodes).toBeGreaterThan(0);
    expect(summary.evaluationAfter.step).toBe(2);
    const records = (await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const steps = records.filter((record) => record.kind === 'step');
    // Episodes so far, over the run.
    expect(steps.map((record) => record.episodes)).toEqual([2, 4]);
    // The rewards the step trained on are the ones the agent posted.
    const posted = (episodes: AgentEpisode[]) =>
      episodes.reduce((sum, episode) => sum + episode.reward, 0) / episodes.length;
    expect(steps[0]!.rewardMean).toBeCloseTo(posted(stepOne), 6);
    expect(steps[1]!.rewardMean).toBeCloseTo(posted(stepTwo), 6);
    expect(existsSync(path.join(runDirectory, 'checkpoints', 'step-000002'))).toBe(true);
    expect(existsSync(path.join(runDirectory, 'report.html'))).toBe(true);

    // --resume continues from the checkpoint to a third step, served by the restored policy.
    const second = await gatewayRun(['--resume', runDirectory, '--steps', '3']);
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(second.result.stderr).toContain('resuming');
    expect(second.episodes).toHaveLength(2);
    expect(second.episodes[0]!.taskVersion).toBeGreaterThanOrEqual(stepTwo[0]!.taskVersion);
    const resumed = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(resumed).toMatchObject({ status: 'completed', stepsCompleted: 3 });
  });

  it('stops waiting for an agent that never comes on Ctrl-C, saves the run and exits 130', async () => {
    const runDirectory = path.join(scratch, 'interrupted');
    let interruptedAt = 0;
    const result = await runCli(
      ['gateway', '--config', configPath, '--run-dir', runDirectory, '--group-timeout', '3600'],
      (child, stderr) => {
        const poll = setInterval(() => {
          const baseUrl = /gateway: base URL (\S+),/.exec(stderr())?.[1];
          if (baseUrl === undefined) return;
          clearInterval(poll);
          // Once the first step offers its tasks (the agent takes one and walks away), interrupt.
          void (async () => {
            for (;;) {
              const response = await fetch(`${baseUrl}/tasks/next`, {
                method: 'POST',
                body: JSON.stringify({ wait_ms: 1000 }),
              });
              if (((await response.json()) as { task: unknown }).task !== null) break;
            }
            interruptedAt = Date.now();
            child.kill('SIGINT');
          })();
        }, 100);
        child.on('close', () => clearInterval(poll));
      },
    );
    expect(result.code, result.stderr).toBe(130);
    // Not the hour of --group-timeout: the wait ended at the interrupt.
    expect(Date.now() - interruptedAt).toBeLessThan(300_000);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'interrupted', stepsCompleted: 1 });
    const steps = (await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.kind === 'step');
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ timedOutEpisodes: 2 });
  });
});
