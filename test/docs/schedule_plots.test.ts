/** docs/schedules/*.svg are the schedules' real curves: redrawn here, they must equal the committed files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEDULES, scheduleSvg } from '../../scripts/plot-schedules.js';

describe('schedule plots in the docs', () => {
  it('are up to date (npx tsx scripts/plot-schedules.ts redraws them)', () => {
    const dir = path.resolve(__dirname, '../../docs/schedules');
    for (const name of Object.keys(SCHEDULES)) {
      expect(fs.readFileSync(path.join(dir, `${name}.svg`), 'utf8'), `${name}.svg is stale: run npx tsx scripts/plot-schedules.ts`).toBe(scheduleSvg(name));
    }
  });
});
