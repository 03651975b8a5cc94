/**
 * The package as a consumer gets it: `npm pack` of the built package, installed with `npm ci` into
 * a fresh project outside this repository, offline.
 *
 * Offline install: `npm ci --offline` takes every tarball from npm's cache (which this
 * repository's own `npm ci` filled) but needs a lockfile to skip the registry's metadata. The
 * consumer's lockfile is derived from this repository's: transferkit's `dependencies`, followed
 * through their own dependencies exactly as this repository's lockfile resolved them. So the
 * project holds transferkit and its declared dependencies only (not this repository's dev
 * dependencies): an import the package needs but does not declare fails here as it would for a user.
 */
import { runAsync } from '../helpers/run.js';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

interface LockEntry { version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; [k: string]: unknown }

/** The lockfile path Node would resolve `name` to from the package at `from` ('' = the root). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return null;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** A consumer project with the packed tarball installed; `dir` is outside the repository. */
export interface Consumer { dir: string; tarball: string; files: string[] }

/**
 * Packs the built package (no rebuild: `npm test` built it) and installs it into a new project,
 * with `devDependencies` (names, at this repository's locked versions) as a consumer's own tools.
 * @throws when dist/ is missing or the install fails (with npm's output).
 */
export async function packAndInstall(devDependencies: string[] = []): Promise<Consumer> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')) || !fs.existsSync(path.join(ROOT, 'dist', 'wasm'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test does) before the consumer tests');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-consumer-'));
  const pack = await runAsync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
  if (pack.status !== 0) throw new Error(`npm pack failed in ${ROOT}:\n${pack.stdout}\n${pack.stderr}`);
  const packed = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const tarball = packed[0].filename;
  const me = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string; dependencies: Record<string, string> };
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const picked: Record<string, LockEntry> = {};
  const visit = (from: string, deps: Record<string, string> | undefined): void => {
    for (const name of Object.keys(deps ?? {})) {
      const at = resolveIn(lock.packages, from, name);
      if (at === null || picked[at] !== undefined) continue;
      picked[at] = lock.packages[at];
      visit(at, { ...lock.packages[at].dependencies, ...lock.packages[at].optionalDependencies });
    }
  };
  visit('', me.dependencies);
  const dev: Record<string, string> = {};
  for (const name of devDependencies) {
    const version = lock.packages[`node_modules/${name}`]?.version;
    if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
    dev[name] = version;
  }
  visit('', dev);
  const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(path.join(dir, tarball))).digest('base64')}`;
  const pkg = { name: 'consumer', version: '1.0.0', private: true, dependencies: { [me.name]: `file:${tarball}` }, devDependencies: dev };
  const pick = (k: string) => (me[k] !== undefined ? { [k]: me[k] } : {});
  const consumerLock = {
    name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true,
    packages: {
      '': { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies, devDependencies: dev },
      [`node_modules/${me.name}`]: { version: me.version, resolved: `file:${tarball}`, integrity, ...pick('license'), ...pick('dependencies'), ...pick('bin'), ...pick('engines'), ...pick('peerDependencies'), ...pick('peerDependenciesMeta') },
      ...picked,
    },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(consumerLock, null, 2));
  const install = await runAsync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir });
  if (install.status !== 0) throw new Error(`npm ci of the packed tarball failed in ${dir}:\n${install.stdout}\n${install.stderr}`);
  return { dir, tarball, files: packed[0].files.map((f) => f.path) };
}
