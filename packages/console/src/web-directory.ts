import { fileURLToPath } from 'node:url';

/** The default folder of the built front-end: `dist/web` of this package (from `src/` or `dist/`). */
export function defaultWebDirectory(): string {
  return fileURLToPath(new URL('../dist/web/', import.meta.url));
}
