import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  const result = await esbuild.build({
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
    write: false,
  });
  const require = createRequire(import.meta.url);
  const uplotCss = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const ownCss = await readFile(path.join(webSourceDirectory, 'style.css'), 'utf8');
  const files: [string, string | Uint8Array][] = [
    ...result.outputFiles.map((file): [string, Uint8Array] => [
      path.basename(file.path),
      file.contents,
    ]),
    ['app.css', `${uplotCss}\n${ownCss}`],
    // Last: its presence says the build is complete (see ensureBuiltWeb).
    ['index.html', await readFile(path.join(webSourceDirectory, 'index.html'))],
  ];
  // Each file replaced atomically, so a server starting during a rebuild never reads half a file.
  for (const [name, contents] of files) {
    const temporary = path.join(outDirectory, `.${name}.${process.pid}.${randomUUID()}.tmp`);
    await writeFile(temporary, contents);
    await rename(temporary, path.join(outDirectory, name));
  }
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
