/**
 * Imports an optional peer (tfjs-node, webgpu, h5wasm, transformers.js, ...) by name at run time:
 * a dynamic import whose specifier bundlers and tsc do not see, so a missing peer costs nothing
 * until it is asked for.
 *
 * The page build (the package's "browser" export condition) swaps this module for
 * import_optional_page.ts (tsup.config.ts), which has no `import()` at all: a page cannot import a
 * bare specifier at run time (a browser has no node_modules, only what the application's bundler
 * put in), and a specifier left in the code makes dev servers such as Vite's dependency optimiser
 * try to resolve peers the page never uses.
 */
export async function importOptional(spec: string): Promise<unknown> {
  return import(/* @vite-ignore */ spec);
}
