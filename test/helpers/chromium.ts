import * as fs from 'node:fs';

/** Debian's Chromium (override with TRANSFERKIT_CHROMIUM). */
export const CHROMIUM = process.env.TRANSFERKIT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet, offline headless Chromium. */
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** True (with the reason printed) when Chromium is not installed. */
export function chromiumAbsent(): boolean {
  if (fs.existsSync(CHROMIUM)) return false;
  console.warn(`[skip] no Chromium at ${CHROMIUM} (apt-get install chromium, or set TRANSFERKIT_CHROMIUM)`);
  return true;
}
