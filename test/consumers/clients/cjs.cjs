// CommonJS client: `require` of the installed package.
const tk = require('transferkit');
const job = require('./job.cjs');

job(tk, 'cjs', process.argv[2]).then((r) => console.log(JSON.stringify(r)), (err) => {
  console.error(err);
  process.exit(1);
});
