import { main } from './main';

// pnpm --filter @cohort/example-console-feedback start [RUN_DIR]: rate in the browser.
await main({
  runDirectory: process.argv[2] ?? 'runs/console-feedback',
  port: 7707,
  rounds: 12,
  log: (line) => console.log(line),
});
