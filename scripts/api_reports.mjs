/**
 * API reports of every public entry (api-extractor): the core (`transferkit`, etc/transferkit.api.md)
 * and each subpath (`transferkit/text` → etc/transferkit-text.api.md, ...), read from the built
 * declarations in dist/. Without `--local` a report that differs from the committed one fails (as
 * `api-extractor run`); with `--local` the reports are rewritten (`npm run api`). The core's
 * value exports are counted and held under the front-door budget.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const local = process.argv.includes('--local');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const base = ExtractorConfig.loadFile(path.join(root, 'api-extractor.json'));
/** The most value exports the core entry may have (issue: a small front door). */
const CORE_BUDGET = 60;

const entries = [{ name: 'transferkit', dts: 'dist/index.d.ts', report: 'transferkit.api.md' }];
for (const key of Object.keys(pkg.exports)) {
  const m = /^\.\/([a-z]+)$/.exec(key);
  if (m === null || m[1] === 'browser') continue;
  entries.push({ name: `transferkit/${m[1]}`, dts: `dist/${m[1]}.d.ts`, report: `transferkit-${m[1]}.api.md` });
}

/** Names of the values a report exports (overloads once; `export { tf }` of a namespace import counts, re-exported types do not). */
function valueExports(report) {
  const names = new Set([...report.matchAll(/^export (?:declare )?(?:function|class|abstract class|const|let|var|namespace|enum) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
  const namespaces = new Set([...report.matchAll(/^import \* as ([A-Za-z_$][\w$]*) from/gm)].map((m) => m[1]));
  for (const m of report.matchAll(/^export \{ ([A-Za-z_$][\w$]*) \}$/gm)) if (namespaces.has(m[1])) names.add(m[1]);
  return [...names];
}

let failed = false;
for (const e of entries) {
  const config = ExtractorConfig.prepare({
    configObject: { ...base, mainEntryPointFilePath: path.join(root, e.dts), apiReport: { ...base.apiReport, reportFileName: e.report }, docModel: { ...base.docModel, apiJsonFilePath: path.join(root, 'temp', e.report.replace(/\.api\.md$/, '.api.json')) } },
    configObjectFullPath: path.join(root, 'api-extractor.json'),
    // The doc model of a subpath is a package of its own name (transferkit-text), so the API
    // reference (api-documenter) gives each entry its own pages.
    packageJson: { ...pkg, name: e.report.replace(/\.api\.md$/, '') },
    packageJsonFullPath: path.join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false, messageCallback: (msg) => { if (msg.logLevel === 'warning' || msg.logLevel === 'error') { msg.handled = true; console.error(`[${e.name}] ${msg.text}${msg.sourceFilePath ? ` (${msg.sourceFilePath}:${msg.sourceFileLine})` : ''}`); failed ||= msg.logLevel === 'error'; } else msg.handled = true; } });
  const report = readFileSync(path.join(root, 'etc', e.report), 'utf8');
  const values = valueExports(report).length;
  console.log(`${e.name}: ${values} value exports${result.apiReportChanged ? (local ? ' (report updated)' : ' — REPORT CHANGED: run `npm run api` and commit etc/') : ''}`);
  if (!result.succeeded && !local) failed = true;
  if (e.name === 'transferkit' && values > CORE_BUDGET) {
    console.error(`The core entry exports ${values} values (budget ${CORE_BUDGET}): put the new ones in a subpath entry.`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
