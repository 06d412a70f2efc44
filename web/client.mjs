// ES module entry for browsers: `import { LiveFeed } from '/client.mjs'`.
// client.js is written as a classic script (so a plain <script src> works); evaluated as a
// module it has no exports, so it leaves LiveFeed on globalThis and this file re-exports it.
import './client.js';

export const LiveFeed = globalThis.LiveFeed;
