/** The cacophony vectors with the default primitives, @noble's (protocol/test/cacophony.ts). */
import { describeCacophonyVectors } from './cacophony.ts';

describeCacophonyVectors('Noise cacophony vectors (noble)');
