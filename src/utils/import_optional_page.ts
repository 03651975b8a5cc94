/**
 * The page build's {@link importOptional} (see import_optional.ts): a page gets a package only by
 * importing it in its own, bundled code, so asking for one at run time always fails, with the fix.
 */
export async function importOptional(spec: string): Promise<unknown> {
  throw new Error(`${spec} cannot be imported at run time in a page; import it in your application's code (bundled) before using it`);
}
