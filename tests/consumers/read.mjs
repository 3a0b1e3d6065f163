// Read a .bib with citation-js and with @retorquere/bibtex-parser (Better BibTeX's parser);
// print what each made of every entry as JSON: {citationjs: [...], bbt: {errors, entries}}.
// One process per file: the tests ask for every entry at once.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as bbt from '@retorquere/bibtex-parser';

const require = createRequire(import.meta.url);
const { Cite } = require('@citation-js/core');
require('@citation-js/plugin-bibtex');
require('@citation-js/plugin-csl');

const text = fs.readFileSync(process.argv[2], 'utf8');
const cite = new Cite(text, { forceType: '@biblatex/text' });
const citationjs = cite.data.map((d) => ({
  id: d.id, type: d.type, title: d.title ?? '', abstract: d.abstract ?? '',
  number: d.number ?? '', DOI: d.DOI ?? '', author: d.author ?? [], note: d.note ?? '',
  'container-title': d['container-title'] ?? '', URL: d.URL ?? '',
}));
const lib = bbt.parse(text, { unsupported: 'ignore' });
const entries = lib.entries.map((e) => ({
  key: e.key, type: e.type, title: e.fields.title ?? '', abstract: e.fields.abstract ?? '',
  number: e.fields.number ?? '', doi: e.fields.doi ?? '', note: e.fields.note ?? '',
  eprint: e.fields.eprint ?? '', author: e.fields.author ?? [],
  venue: e.fields.booktitle ?? e.fields.journal ?? '',
}));
process.stdout.write(JSON.stringify({ citationjs, bbt: { errors: lib.errors, entries } }));
