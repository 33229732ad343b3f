/**
 * Waits for a condition instead of sleeping a fixed time before an assertion: a fixed sleep is
 * too short on a loaded machine and too long everywhere else.
 */
export interface WaitOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs?: number;
  /** Poll this often (ms). */
  readonly intervalMs?: number;
}

/** Polls `check` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 20_000, intervalMs = 5 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Polls `read` until its value has not changed for `polls` polls in a row, then returns it:
 * for asserting that something stopped (a sender held back by flow control).
 */
export async function settled<T>(
  read: () => T,
  what: string,
  { polls = 10, ...options }: WaitOptions & { readonly polls?: number } = {},
): Promise<T> {
  let last = read();
  let same = 0;
  await waitFor(
    () => {
      const now = read();
      same = Object.is(now, last) ? same + 1 : 0;
      last = now;
      return same >= polls;
    },
    `${what} to settle`,
    options,
  );
  return last;
}
