// ESM client: `import` from the installed package.
import * as tk from 'transferkit';
import job from './job.cjs';

console.log(JSON.stringify(await job(tk, 'esm', process.argv[2])));
