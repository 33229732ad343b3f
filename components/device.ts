/** A phone or tablet: touch first, no hover. */
export const coarsePointer = (): boolean =>
  matchMedia('(hover: none) and (pointer: coarse)').matches;
