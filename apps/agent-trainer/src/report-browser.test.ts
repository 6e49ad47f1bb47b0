import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderReport } from './report';
import { syntheticMetrics, syntheticSamples } from './test-support/synthetic-run';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  // Visible in the test output: the browser check did not run.
  console.warn(
    `report-browser.test.ts: SKIPPED, ${chromiumPath} is missing (install it with: apt-get install -y chromium)`,
  );
}

describe.skipIf(!hasChromium)(`the HTML report in headless Chromium (${chromiumPath})`, () => {
  it('renders every plot with its data points and logs no console error', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-report-'));
    const userDataDirectory = path.join(directory, 'profile');
    const steps = 30;
    const html = renderReport({
      records: syntheticMetrics({ steps, evaluateEvery: 10, generationEvery: 5 }),
      config: { name: 'browser-test', trainer: { steps } },
      samples: syntheticSamples(steps),
      summary: { status: 'completed', seconds: 60 },
    });
    const file = path.join(directory, 'report.html');
    await writeFile(file, html);
    const context = await chromium.launchPersistentContext(userDataDirectory, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
          problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) requests.push(request.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const plots = await page.$$eval('svg.plot', (elements) =>
        elements.map((element) => {
          const box = element.getBoundingClientRect();
          return {
            title: element.getAttribute('aria-label') ?? '',
            declared: Number(element.getAttribute('data-points')),
            circles: element.querySelectorAll('circle.plot-point').length,
            lines: element.querySelectorAll('polyline.plot-line').length,
            width: box.width,
            height: box.height,
            frameTop: element.querySelector('rect.plot-frame')!.getBoundingClientRect().top,
            legendBottom: Math.max(
              ...[...element.querySelectorAll('.plot-legend')].map(
                (legend) => legend.getBoundingClientRect().bottom,
              ),
            ),
          };
        }),
      );
      expect(plots).toHaveLength(19);
      for (const plot of plots) {
        // Every plot has data here, is laid out with a real size, and draws the points it declares.
        expect(plot.declared, plot.title).toBeGreaterThan(0);
        expect(plot.circles, plot.title).toBe(plot.declared);
        expect(plot.lines, plot.title).toBeGreaterThan(0);
        expect(plot.width, plot.title).toBeGreaterThan(100);
        expect(plot.height, plot.title).toBeGreaterThan(50);
        // Legends are laid out above the frame, never over the lines.
        expect(plot.legendBottom, plot.title).toBeLessThanOrEqual(plot.frameTop + 0.5);
      }
      const conversations = await page.$$eval('.conversation', (elements) => elements.length);
      // Two from the last evaluation, and one scenario at the start and at the end.
      expect(conversations).toBe(4);
      // The escaped <script> in a sample is text, not an element.
      expect(await page.$$eval('script', (elements) => elements.length)).toBe(0);
      expect(await page.textContent('body')).toContain('<script>alert(1)</script>');
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await context.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
