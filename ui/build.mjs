// Builds the panes from ui/src and ui/pages into ui/dist (committed):
//   dist/apps/     the examples' panes, served by the `static` kind from
//                  specs/examples/ui.yaml (/, /prompts, /compiler, /inference)
//   dist/console/  the engine console, embedded into the binary
//                  (nodes/src/net/bundle.rs) and served at /console
// `node build.mjs --check` builds into a temporary folder and fails when
// anything differs from the committed dist/ (CI runs it: scripts/ui-build.sh).
import { build } from 'esbuild';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const out = check ? await mkdtemp(join(tmpdir(), 'weir-ui-')) : join(here, 'dist');

async function bundle(entries, outdir) {
  await build({
    entryPoints: entries.map((e) => join(here, 'src', e)),
    outdir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'linked',
    charset: 'utf8',
    logLevel: 'warning',
  });
}

async function page(name, to) {
  await mkdir(dirname(to), { recursive: true });
  await cp(join(here, 'pages', name), to);
}

await rm(out, { recursive: true, force: true });
const apps = join(out, 'apps');
await bundle(['prompts.js', 'compiler.js', 'inference.js', 'style.css'], join(apps, 'assets'));
await page('index.html', join(apps, 'index.html'));
for (const pane of ['prompts', 'compiler', 'inference']) await page(`${pane}.html`, join(apps, pane, 'index.html'));
// The sample scripts, and their list for the panes' pickers.
const samples = (await readdir(join(here, 'samples'))).filter((f) => f.endsWith('.py')).sort();
await mkdir(join(apps, 'samples'), { recursive: true });
for (const sample of samples) await cp(join(here, 'samples', sample), join(apps, 'samples', sample));
await writeFile(join(apps, 'samples', 'index.json'), `${JSON.stringify(samples)}\n`);

const consoleDir = join(out, 'console');
await bundle(['console.js', 'style.css'], consoleDir);
await page('console.html', join(consoleDir, 'index.html'));
// Mermaid's own prebuilt browser bundle, as the package ships it.
await cp(join(here, 'node_modules/mermaid/dist/mermaid.min.js'), join(consoleDir, 'mermaid.min.js'));

if (check) {
  const differences = await compare(out, join(here, 'dist'));
  await rm(out, { recursive: true, force: true });
  if (differences.length) {
    console.error(`ui/dist does not match ui/src (run scripts/ui-build.sh):\n  ${differences.join('\n  ')}`);
    process.exit(1);
  }
  console.log('ui/dist matches its sources');
}

async function files(root) {
  const found = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) found.push(relative(root, join(entry.parentPath, entry.name)));
  }
  return found.sort();
}

async function compare(built, committed) {
  const differences = [];
  const have = new Set(await files(committed).catch(() => []));
  for (const file of await files(built)) {
    if (!have.delete(file)) differences.push(`missing: ${file}`);
    else if (!(await readFile(join(built, file))).equals(await readFile(join(committed, file)))) differences.push(`differs: ${file}`);
  }
  for (const file of have) differences.push(`not built from the sources: ${file}`);
  return differences;
}
