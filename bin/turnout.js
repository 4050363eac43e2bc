#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever a library left open must not keep a finished command (or a stopped proxy) alive.
    setTimeout(() => process.exit(code), 250).unref();
  },
  (err) => {
    process.stderr.write(`turnout: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
