// CommonJS client: `require` of the installed package, its core entry and every subpath entry.
const tk = require('transferkit');
const job = require('./job.cjs');

const subs = Object.fromEntries(job.SUBPATHS.map((name) => [name, require(`transferkit/${name}`)]));
job(tk, 'cjs', process.argv[2], subs).then((r) => console.log(JSON.stringify(r)), (err) => {
  console.error(err);
  process.exit(1);
});
