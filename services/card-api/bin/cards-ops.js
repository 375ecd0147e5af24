#!/usr/bin/env node
// The operator CLI's command (`npx cards-ops …` in this repository): the compiled main-ops, run as the main program.
// A file of its own, executable in git, because tsc's output is not; run `make build` first.
'use strict';

require('../dist/main-ops.js').main();
