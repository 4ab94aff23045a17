// metascraper side of ./bench/run: the same pages as `Worker extract --batch`, lines of url<TAB>path-to-html.
//   node bench.mjs FILE [ROUNDS]     prints one JSON line: pages/s and MB/s over ROUNDS passes (after one warm-up pass)
import createMetascraper from 'metascraper';
import author from 'metascraper-author';
import date from 'metascraper-date';
import description from 'metascraper-description';
import image from 'metascraper-image';
import lang from 'metascraper-lang';
import publisher from 'metascraper-publisher';
import title from 'metascraper-title';
import url from 'metascraper-url';
import { readFileSync } from 'node:fs';

const [file, rounds = '3'] = process.argv.slice(2);
const metascraper = createMetascraper([title(), description(), image(), url(), lang(), publisher(), date(), author()]);
const pages = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
  const [pageUrl, path] = line.split('\t');
  return { url: pageUrl, html: readFileSync(path, 'utf8') };
});
const bytes = pages.reduce((sum, p) => sum + Buffer.byteLength(p.html), 0);

async function pass() {
  for (const page of pages) await metascraper({ url: page.url, html: page.html });
}

await pass();
const started = performance.now();
for (let i = 0; i < Number(rounds); i++) await pass();
const seconds = (performance.now() - started) / 1000;
const n = pages.length * Number(rounds);
console.log(JSON.stringify({ scenario: 'extract', pages: n, pages_per_s: n / seconds, mb_per_s: (bytes * Number(rounds)) / 1e6 / seconds,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
