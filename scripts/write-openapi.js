// Writes packages/contracts/openapi.json from the zod schemas (after `make build`); the contracts test fails
// until the committed copy matches what the schemas generate.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { buildOpenApiDocument } = require('../packages/contracts/dist/openapi');

const target = path.resolve(__dirname, '../packages/contracts/openapi.json');
fs.writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
