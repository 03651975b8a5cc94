// ESM client: `import` from the installed package, its core entry and every subpath entry.
import * as tk from 'transferkit';
import job, { SUBPATHS } from './job.cjs';

const subs = Object.fromEntries(await Promise.all(SUBPATHS.map(async (name) => [name, await import(`transferkit/${name}`)])));
console.log(JSON.stringify(await job(tk, 'esm', process.argv[2], subs)));
