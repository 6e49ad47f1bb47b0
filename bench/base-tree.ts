/**
 * A runnable copy of another commit of this repository for the benchmarks that
 * compare against it: `git archive <commit>` under /tmp, with this tree's
 * node_modules (pnpm's symlink farms copied, the store linked), so it runs its
 * own sources of every package.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Extracts `commit` of the repository at `root` into a fresh folder under /tmp and returns it. */
export function prepareBaseTree(root: string, commit: string, extraFiles: string[] = []): string {
  const baseCommit = execFileSync('git', ['rev-parse', commit], { cwd: root }).toString().trim();
  const baseRoot = `/tmp/cohort-bench-base-${baseCommit.slice(0, 10)}-${process.pid}`;
  rmSync(baseRoot, { recursive: true, force: true });
  mkdirSync(baseRoot, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${baseCommit} | tar -x -C ${baseRoot}`], { cwd: root });
  symlinkSync(path.join(root, 'node_modules'), path.join(baseRoot, 'node_modules'));
  for (const group of ['packages', 'apps']) {
    for (const name of execFileSync('ls', [path.join(root, group)])
      .toString()
      .split('\n')) {
      const from = path.join(root, group, name, 'node_modules');
      if (name && existsSync(from) && existsSync(path.join(baseRoot, group, name)))
        cpSync(from, path.join(baseRoot, group, name, 'node_modules'), {
          recursive: true,
          verbatimSymlinks: true,
        });
    }
  }
  cpSync(path.join(root, 'bench/node_modules'), path.join(baseRoot, 'bench/node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const file of extraFiles) cpSync(path.join(root, file), path.join(baseRoot, file));
  return baseRoot;
}

/** The full commit id of `commit` in the repository at `root`. */
export function resolveCommit(root: string, commit: string): string {
  return execFileSync('git', ['rev-parse', commit], { cwd: root }).toString().trim();
}
