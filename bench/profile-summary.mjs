#!/usr/bin/env node
// Top self-time functions of a V8 CPU profile (`node --cpu-prof` writes one .cpuprofile per process).
//
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 15] [--markdown] [--by-file]
//
// Self time of a sample is the time until the next sample (as Chrome DevTools counts it); it is
// summed per function (name + file + line) and shown as a share of all sampled time, including
// (garbage collector), (program) and (idle). --by-file sums per file instead.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg));
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 15;
const markdown = args.includes('--markdown');
const byFile = args.includes('--by-file');
if (!file || !Number.isInteger(top) || top < 1) {
  process.stderr.write('Usage: node bench/profile-summary.mjs <file.cpuprofile> [--top 15] [--markdown] [--by-file]\n');
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));

/** Shortens a script URL: the compiled bench tree and the working directory go, node: stays. */
function location(url) {
  if (!url) return '';
  let text = url.replace(/^file:\/\//, '');
  const build = /node_modules\/\.cache\/swarmauri-bench\/run-\d+\//.exec(text);
  if (build) return text.slice(build.index + build[0].length);
  const cwd = `${process.cwd()}${path.sep}`;
  if (text.startsWith(cwd)) text = text.slice(cwd.length);
  return text;
}

const totals = new Map();
let all = 0;
const { samples, timeDeltas } = profile;
for (let i = 0; i < samples.length; i++) {
  // The time of sample i lasts until sample i + 1 (the last one until endTime).
  const micros = i + 1 < samples.length ? timeDeltas[i + 1] : Math.max(0, profile.endTime - (profile.startTime + timeDeltas.slice(0, i + 1).reduce((a, b) => a + b, 0)));
  const frame = nodes.get(samples[i]).callFrame;
  const where = location(frame.url);
  const key = byFile
    ? where || frame.functionName || '(native)'
    : `${frame.functionName || '(anonymous)'}\u0000${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
  totals.set(key, (totals.get(key) ?? 0) + Math.max(0, micros));
  all += Math.max(0, micros);
}

const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
const rows = ranked.map(([key, micros], index) => {
  const [name, where = ''] = key.split('\u0000');
  return { rank: index + 1, ms: micros / 1000, share: (100 * micros) / all, name, where };
});

const header = `${samples.length} samples over ${(all / 1e6).toFixed(2)} s; top ${rows.length} ${byFile ? 'files' : 'functions'} by self time`;
if (markdown) {
  const out = [header, '', byFile ? '| # | self % | self ms | file |' : '| # | self % | self ms | function | location |', byFile ? '| --- | --- | --- | --- |' : '| --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const cells = [row.rank, row.share.toFixed(1), row.ms.toFixed(0), `\`${row.name}\``];
    if (!byFile) cells.push(row.where ? `\`${row.where}\`` : '');
    out.push(`| ${cells.join(' | ')} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
} else {
  const out = [header];
  for (const row of rows) {
    out.push(`${String(row.rank).padStart(3)}  ${row.share.toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}${row.where ? `  ${row.where}` : ''}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
