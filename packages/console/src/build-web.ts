import { access, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultWebDirectory } from './web-directory';

/** The front-end's sources: `web/` beside `src/` in this package. */
export const webSourceDirectory = fileURLToPath(new URL('../web/', import.meta.url));

/**
 * Builds the console's front-end into `outDirectory` (`index.html`, `app.js`,
 * `app.css`) with esbuild: Preact and uPlot bundled in, minified, no
 * network and no CDN at run time. Runs at package build time and in the
 * tests' global setup (esbuild is a development dependency).
 *
 * @example
 * ```ts
 * await buildWeb({ outDirectory: 'packages/console/dist/web' });
 * ```
 */
export async function buildWeb(options: { outDirectory: string }): Promise<void> {
  const esbuild = await import('esbuild');
  const outDirectory = path.resolve(options.outDirectory);
  await mkdir(outDirectory, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(webSourceDirectory, 'main.tsx')],
    outfile: path.join(outDirectory, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const require = createRequire(import.meta.url);
  const uplotCss = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const ownCss = await readFile(path.join(webSourceDirectory, 'style.css'), 'utf8');
  await writeFile(path.join(outDirectory, 'app.css'), `${uplotCss}\n${ownCss}`);
  await copyFile(
    path.join(webSourceDirectory, 'index.html'),
    path.join(outDirectory, 'index.html'),
  );
}

/**
 * The built front-end to serve: the package's `dist/web` when it is there;
 * from a checkout with no build yet, it is built there first (and
 * `onBuild` is told, so that the build is never silent).
 *
 * @example
 * ```ts
 * const webDirectory = await ensureBuiltWeb({ onBuild: (directory) => console.error(`building ${directory}`) });
 * ```
 */
export async function ensureBuiltWeb(options: {
  onBuild: (directory: string) => void;
}): Promise<string> {
  const directory = defaultWebDirectory();
  try {
    await access(path.join(directory, 'index.html'));
    return directory;
  } catch {}
  options.onBuild(directory);
  await buildWeb({ outDirectory: directory });
  return directory;
}
