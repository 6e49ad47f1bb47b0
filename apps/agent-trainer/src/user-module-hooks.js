// Module resolution hook for the user's own modules (environments, rewards),
// registered with `module.register` by `user-module.ts`. A user module may
// live anywhere on disk, outside any project that installs Cohort, so its
// `@cohort/*` imports are resolved as if the app itself imported them: from
// the app's own installation, the same copies the app runs on. Plain
// JavaScript, because Node loads hooks without tsx (also inside vitest).

/** @type {string | undefined} */
let appUrl;

/** @param {{ appUrl: string }} data */
export function initialize(data) {
  appUrl = data.appUrl;
}

const typeScriptFile = /\.(?:ts|mts|tsx)$/;

/**
 * @param {string} url
 * @returns {boolean}
 */
function isUserTypeScript(url) {
  return (
    url.startsWith('file:') &&
    !url.includes('/node_modules/') &&
    typeScriptFile.test(new URL(url).pathname)
  );
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string, conditions: string[], importAttributes: Record<string, string> }} context
 * @param {(specifier: string, context?: object) => Promise<{ url: string, format?: string | null }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  // Only imports written by the user: packages inside node_modules keep
  // their own resolution.
  if (
    appUrl !== undefined &&
    specifier.startsWith('@cohort/') &&
    parent !== undefined &&
    !parent.includes('/node_modules/')
  ) {
    try {
      return await nextResolve(specifier, { ...context, parentURL: appUrl });
    } catch {
      // Not one the app installs: the user's own resolution decides.
    }
  }
  const resolved = await nextResolve(specifier, context);
  // A user's TypeScript module is an ES module wherever it lives: without
  // this, tsx would compile a `.ts` file outside a `"type": "module"` project
  // to CommonJS, whose `require` never reaches this hook.
  if (isUserTypeScript(resolved.url) && resolved.format !== 'module') {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
