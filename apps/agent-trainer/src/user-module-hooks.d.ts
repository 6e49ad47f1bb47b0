// Types of `user-module-hooks.js`, which stays JavaScript so that Node's own
// loader can run it in every mode (built app, tsx, vitest).

/** What `user-module.ts` passes to `module.register`. */
export interface UserModuleHooksData {
  /** A URL inside the app's installation that `@cohort/*` imports resolve from. */
  appUrl: string;
}

export interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes: Record<string, string>;
}

export interface ResolveResult {
  url: string;
  format?: string | null;
}

export function initialize(data: UserModuleHooksData): void;

export function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: (specifier: string, context?: ResolveContext) => Promise<ResolveResult>,
): Promise<ResolveResult>;
