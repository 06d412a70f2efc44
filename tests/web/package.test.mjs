// web/ as an npm package: `npm install <path-to-web/>` and an installed `npm pack` tarball
// work in a fresh project, from ES modules, CommonJS and TypeScript. Nothing is fetched: the
// package has no dependencies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../../web', import.meta.url));
const TSC = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function npm(args, cwd) {
  return run('npm', [...args, '--no-audit', '--no-fund', '--offline', '--loglevel=error'], cwd);
}

// A fresh project that depends on `spec` and uses the package as pages and tools would.
function freshProject(t, spec) {
  const dir = mkdtempSync(path.join(tmpdir(), 'livefeed-client-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const project = path.join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true }));
  if (typeof spec === 'function') spec = spec(dir);
  npm(['install', spec], project);
  return project;
}

function useFromNode(project) {
  writeFileSync(
    path.join(project, 'esm.mjs'),
    `import { LiveFeed } from 'livefeed-client';
     const feed = new LiveFeed({ channels: ['news'] });
     console.log(typeof LiveFeed, feed.status, feed.channels.join());`
  );
  writeFileSync(
    path.join(project, 'cjs.cjs'),
    `const { LiveFeed } = require('livefeed-client');
     const classic = require('livefeed-client/client.js');
     console.log(typeof LiveFeed, LiveFeed === classic.LiveFeed, new LiveFeed().status);`
  );
  assert.equal(run('node', ['esm.mjs'], project).trim(), 'function idle news');
  assert.equal(run('node', ['cjs.cjs'], project).trim(), 'function true idle');
}

test('npm install <path-to-web/> works in a fresh project, from ES modules and CommonJS', (t) => {
  const project = freshProject(t, WEB);
  useFromNode(project);
});

test('the packed package holds the client only, and installs and imports', (t) => {
  const project = freshProject(t, (dir) => {
    const out = JSON.parse(npm(['pack', WEB, '--pack-destination', dir, '--json'], dir));
    assert.deepEqual(out[0].files.map((f) => f.path).sort(), ['client.d.ts', 'client.js', 'client.mjs', 'package.json']);
    return path.join(dir, out[0].filename);
  });
  useFromNode(project);
});

test('TypeScript finds the declarations through the package exports', { skip: !existsSync(TSC) && 'run scripts/setup-browser' }, (t) => {
  const project = freshProject(t, WEB);
  writeFileSync(
    path.join(project, 'page.ts'),
    `import { LiveFeed, type FeedItem } from 'livefeed-client';
     const feed = new LiveFeed({ shared: true, getToken: async () => 't' });
     feed.on('item', (item: FeedItem) => console.log(item.id));
     // @ts-expect-error: subscribe takes a channel name
     feed.subscribe(42);`
  );
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [] },
      files: ['page.ts'],
    })
  );
  run(TSC, ['-p', project], project);
});
