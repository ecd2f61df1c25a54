// Regenerates counts.json: node count.mjs > counts.json (see README.md).
import fs from 'fs';
import { createRequire } from 'module';
const require = createRequire(import.meta.url);
const cl = require('gpt-tokenizer/encoding/cl100k_base');
const o2 = require('gpt-tokenizer/encoding/o200k_base');
const l2 = (await import('llama-tokenizer-js')).default;
const l3 = (await import('llama3-tokenizer-js')).default;
const mi = (await import('mistral-tokenizer-js')).default;
const dir = new URL('.', import.meta.url).pathname;
const out = {};
for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.txt')).sort()) {
  const t = fs.readFileSync(dir + f, 'utf8');
  out[f] = {
    cl100k: cl.encode(t).length, o200k: o2.encode(t).length,
    llama2: l2.encode(t, false, false).length, llama3: l3.encode(t, { bos: false, eos: false }).length,
    mistral: mi.encode(t, false, false).length,
  };
}
console.log(JSON.stringify(out, null, 1));
