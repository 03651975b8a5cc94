/**
 * Shared by the input-boundary tests (issue 27): catching the error a call throws, insisting that
 * it is a coded TransferKitError, and lowering input limits for one test at a time.
 */
import * as fs from 'node:fs';
import { afterEach, expect } from 'vitest';
import { isTransferKitError, setInputLimits, type InputLimits } from '../../src/index.js';

/** The error `fn` throws (sync or async); fails the test when it throws none. */
export async function caught(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected an error, got none');
}

/** The coded error `fn` throws synchronously; fails the test on a raw error or on success. */
export function codedError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isTransferKitError(err)) throw new Error(`expected a TransferKitError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error('expected an error, got a result');
}

/**
 * Registers an afterEach that restores the limits; returns `lower(limits)`, which sets limits for
 * the current test only.
 */
export function limitsPerTest(): (limits: Partial<InputLimits>) => void {
  let saved: InputLimits | null = null;
  afterEach(() => {
    if (saved !== null) setInputLimits(saved);
    saved = null;
  });
  return (limits) => {
    const before = setInputLimits(limits);
    saved ??= before;
  };
}

/**
 * One input of an in-test fuzz loop: writes `bytes` to `file`, runs `read(file)` and counts a
 * result or a coded error that names the file; a raw error fails the test, naming `label`.
 */
export function tallyRead(file: string, bytes: Uint8Array, read: (file: string) => unknown, label: string, outcomes: { ok: number; coded: number }): void {
  fs.writeFileSync(file, bytes);
  try {
    read(file);
    outcomes.ok++;
  } catch (err) {
    if (!isTransferKitError(err)) throw new Error(`${label} ended in a raw error: ${String(err)}`, { cause: err });
    expect(err.message, label).toContain(file);
    outcomes.coded++;
  } finally {
    fs.rmSync(file);
  }
}
