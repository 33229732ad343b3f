/** Waits for SIGINT or SIGTERM (Ctrl-C, or a service manager stopping us). */
export interface Signalled {
  readonly promise: Promise<NodeJS.Signals>;
  readonly signalled: boolean;
}

export function untilSignal(): Signalled {
  let signalled = false;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      signalled = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return {
    promise,
    get signalled() {
      return signalled;
    },
  };
}
