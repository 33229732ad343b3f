// Mocha's globals as @web/test-runner provides them, typed, plus small assertions
// (the browser has no node:assert).
type Body = () => void | Promise<void>;
interface MochaGlobals {
  describe(name: string, body: () => void): void;
  it(name: string, body: Body): void;
  beforeEach(body: Body): void;
  afterEach(body: Body): void;
}
const mocha = globalThis as unknown as MochaGlobals;
export const describe = (name: string, body: () => void) => mocha.describe(name, body);
export const it = (name: string, body: Body) => mocha.it(name, body);
export const beforeEach = (body: Body) => mocha.beforeEach(body);
export const afterEach = (body: Body) => mocha.afterEach(body);

export function equal<T>(actual: T, expected: T, message = ''): void {
  if (!Object.is(actual, expected))
    throw new Error(
      `${message} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
}

export function deepEqual(actual: unknown, expected: unknown, message = ''): void {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${message} expected ${b}, got ${a}`);
}

export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) throw new Error(message);
}

export const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with the first event of `type` whose detail passes `accept`. */
export function nextEvent<T>(
  target: EventTarget,
  type: string,
  accept: (detail: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const listener = (event: Event) => {
      const detail = (event as CustomEvent<T>).detail;
      if (!accept(detail)) return;
      target.removeEventListener(type, listener);
      resolve(detail);
    };
    target.addEventListener(type, listener);
  });
}

/** Polls until `check` is true (for IntersectionObserver and IndexedDB callbacks). */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Records console.warn calls while the test runs. */
export function captureWarnings(): { messages: string[]; restore: () => void } {
  const original = console.warn;
  const messages: string[] = [];
  console.warn = (...args: unknown[]) => {
    messages.push(args.map(String).join(' '));
  };
  return { messages, restore: () => (console.warn = original) };
}
