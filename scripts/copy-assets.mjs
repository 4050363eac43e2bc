// Part of `npm run build`: copies what tsc does not emit, the dashboard page's files (HTML, CSS and
// the checked browser script), into dist/ beside the module that reads them (dist/admin/).
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/admin/dashboard/', import.meta.url);
const to = new URL('../dist/admin/dashboard/', import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
