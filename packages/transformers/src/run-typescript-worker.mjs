// Starts a TypeScript worker entry through tsx: the data-parallel worker runs
// from its sources in tests and benchmarks (a built package runs the .js).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
