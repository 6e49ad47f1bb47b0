import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ConsoleServer, createConsoleServer } from '@cohort/console';
import { buildWeb } from '@cohort/console/build-web';
import {
  createSupportDeskEnvironment,
  supportDeskReferenceReply,
  supportDeskTasks,
} from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleChat } from './console-chat';
import { referenceChatModel } from './test-support/reference-chat-model';
import { writeRunConfig } from './test-support/run-fixture';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  console.warn(
    `console-tool-chat-browser.test.ts: SKIPPED, ${chromiumPath} is missing (apt-get install -y chromium)`,
  );
}

/** Set COHORT_CONSOLE_SCREENSHOTS=packages/console/screenshots to refresh the README's picture of this page. */
const screenshotDirectory = process.env.COHORT_CONSOLE_SCREENSHOTS;

describe.skipIf(!hasChromium)('the console chat with tools in headless chromium', () => {
  let root: string;
  let runDirectory: string;
  let server: ConsoleServer;
  let context: BrowserContext;
  const loads: (string | null)[] = [];
  const chat = createConsoleChat({
    maxNewTokens: 64,
    // The model is the support desk's reference agent (the one agent here that solves tasks with
    // the tools): everything else is the app's own chat, run config, environment and sessions.
    loadModel: async (_run, checkpoint) => {
      loads.push(checkpoint);
      return referenceChatModel(tokenizer, 32_768);
    },
  });
  const tokenizer = trainBpeTokenizer({
    texts: ['Hello, I can help with your order. Please tell me your email.'],
    vocabSize: 300,
  });

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cohort-tool-chat-browser-'));
    runDirectory = path.join(root, 'desk');
    await mkdir(path.join(runDirectory, 'checkpoints', 'step-000004'), { recursive: true });
    await writeRunConfig(runDirectory, {
      name: 'desk',
      environment: { type: 'support-desk', trainTasks: 3 },
      trainer: { generation: { maxNewTokens: 400, temperature: 1 }, maxSequenceLength: 32_768 },
    });
    const webDirectory = path.join(root, 'web');
    await buildWeb({ outDirectory: webDirectory });
    server = await createConsoleServer({ runDirectories: [runDirectory], webDirectory, chat });
    context = await chromium.launchPersistentContext(path.join(root, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    chat.dispose();
  });

  it('lets a person be the customer of a scenario: the tool calls run on its backend, their results show, and the end shows the database check', async () => {
    const task = supportDeskTasks({ split: 'train', count: 3 })[1]!;
    // The customer's lines: what the scripted customer says to the reference agent on this task.
    const scripted = await createSupportDeskEnvironment({ toolPrompt: 'compact' }).reset({
      scenario: task,
      seed: 0,
    });
    while (!scripted.done) await scripted.step(supportDeskReferenceReply(scripted.messages));
    const lines = scripted.messages
      .slice(2)
      .filter((message) => message.role === 'user')
      .map((message) => message.content);
    expect(lines.length).toBeGreaterThan(0);

    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${server.url}#/chat`);
    await page.getByLabel('desk', { exact: true }).check();
    await page.waitForSelector(`select[aria-label="scenario"] option[value="${task.id}"]`, {
      state: 'attached',
    });
    expect(await page.getByLabel('checkpoint').inputValue()).toBe('step-000004');
    await page.getByLabel('scenario').selectOption(task.id);
    await page.getByRole('button', { name: 'start' }).click();
    await page.waitForSelector('.chat-assistant');
    expect(await page.textContent('.chat-user .text')).toBe(task.user.opening);
    for (const [index, line] of lines.entries()) {
      await page.getByLabel('message').fill(line);
      await page.keyboard.press('Enter');
      await page
        .locator('.chat-user')
        .nth(index + 1)
        .waitFor();
      await page.waitForSelector('input[aria-label="message"]:not([disabled])');
    }
    const toolTexts = await page.$$eval('.chat-tool .text', (items) =>
      items.map((item) => item.textContent ?? ''),
    );
    expect(toolTexts.length).toBeGreaterThanOrEqual(2);
    // find_customer's result from the scenario's own database.
    expect(toolTexts[0]).toContain(`"name":"${task.user.name}"`);
    expect(await page.textContent('.scenario-line')).toContain(`${toolTexts.length} tool calls`);
    // The system prompt holds tool-call markup; it shows as text, never as elements.
    expect(await page.textContent('.system-prompt')).toContain('<tool_call>');
    expect(await page.$$('.chat tool_call')).toHaveLength(0);
    if (screenshotDirectory) {
      await mkdir(screenshotDirectory, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDirectory, 'chat-tools.png') });
    }
    await page.getByRole('button', { name: 'end and check' }).click();
    await page.waitForSelector('.outcome');
    expect(await page.textContent('.outcome strong')).toBe('solved: the database check passes');
    expect(await page.textContent('.outcome')).toContain('wrong actions: []');
    expect(await page.$$('input[aria-label="message"]')).toHaveLength(0);
    expect(loads).toEqual(['step-000004']);
    expect(problems).toEqual([]);
    await page.close();
  });
});
