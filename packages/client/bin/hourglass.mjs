#!/usr/bin/env node
// The `hourglass` command inside this workspace (`pnpm hourglass …` after `pnpm install`): the CLI from its
// TypeScript source, through tsx, so no build is needed. The published package's bin is dist/cli/main.js
// (publishConfig.bin in package.json).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
