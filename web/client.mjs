// ES module entry: `import { LiveFeed } from '/client.mjs'` in a browser, or from the package
// (web/package.json) in node and bundlers. client.js is a classic script so that a plain
// <script src> works: evaluated as a browser module it has no exports and leaves LiveFeed on
// globalThis; loaded as CommonJS (node, bundlers) it exports it instead.
import * as loaded from './client.js';

export const LiveFeed = globalThis.LiveFeed || loaded.default.LiveFeed;
