#!/usr/bin/env node
// A native-looking `solc` binary over the official solc 0.8.20 WebAssembly build (npm `solc`).
//
// No native solc can be had on these machines, so py-solc-x (ape-solidity), forge and
// crytic-compile (slither) all run this script instead. It implements the slice of solc's
// command line those tools use:
//   --version                      -> "Version: 0.8.20+commit...." as the native binary prints it
//   --standard-json                -> JSON in on stdin, ONLY the JSON out on stdout
//   --base-path P, --include-path P (repeatable), --allow-paths P (accepted, not needed)
//   positional "prefix=target"     -> merged into settings.remappings (crytic-compile style)
// The wasm build's own CLI prints a line about SMT solvers before the JSON, which breaks every
// JSON consumer, so we drive the compiler API, not its CLI.
'use strict';
const fs = require('fs');
const path = require('path');

const SOLC_MODULE = process.env.GPURENT_SOLCJS || path.join(__dirname, '..', 'node_modules', 'solc');
const solc = require(SOLC_MODULE);

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], remappings: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = () => {
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      i += 1;
      return argv[i];
    };
    if (arg === '--version' || arg === '-v') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg.startsWith('--base-path')) opts.basePath = takeValue();
    else if (arg.startsWith('--include-path')) opts.includePaths.push(takeValue());
    else if (arg.startsWith('--allow-paths')) takeValue();
    else if (arg.startsWith('--')) { /* other flags are accepted and ignored */ }
    else if (arg.includes('=')) opts.remappings.push(arg);
  }
  return opts;
}

function importResolver(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths, process.cwd()];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.resolve(r, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_) { /* try the next root */ }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write('solc, the solidity compiler commandline interface\n');
    process.stdout.write(`Version: ${solc.version().replace('.Emscripten.clang', '.Linux.g++')}\n`);
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc-wrapper: only --version and --standard-json are supported\n');
    process.exit(2);
  }
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  if (opts.remappings.length) {
    input.settings = input.settings || {};
    const merged = new Set([...(input.settings.remappings || []), ...opts.remappings]);
    input.settings.remappings = [...merged];
  }
  const output = solc.compile(JSON.stringify(input), { import: importResolver(opts) });
  process.stdout.write(output);
}

main();
