/**
 * Architecture rules, enforced by `make lint` (npm run lint:boundaries). Each rule has a probe in
 * packages/test-support/src/architecture-rules.test.ts: a file that breaks it must fail, so a later edit here cannot
 * quietly loosen it. The rules are written for every service alike (`services/<name>/src/…`).
 *
 * Layers of a service: entry-points/ (HTTP routes, Kafka consumers, jobs, the CLI) call domain/ (use cases, rules
 * and the ports they need), whose ports data-access/ implements (PostgreSQL, the provider's HTTP API, Kafka reads).
 * main-*.ts files wire one process each.
 */

/** Test code, which may reach anything it needs to set a scene up. */
const TESTS = ['\\.test\\.ts$', '^services/[^/]+/test/', '^packages/[^/]+/test/', '^packages/test-support/'];

module.exports = {
  forbidden: [
    {
      name: 'no-service-to-service',
      comment:
        'Services share only packages/*; anything two processes must agree on lives in packages/contracts.',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/([^/]+)/', pathNot: '^services/$1/' },
    },
    {
      name: 'domain-is-pure',
      comment:
        'Use cases and rules import only the contracts, their own domain files (ports included) and Node built-ins: ' +
        'no framework, driver or npm package, and nothing of @cards/runtime or @cards/messaging (whose index would ' +
        'be a back door to createKnex and createKafka). What they need from outside comes in through a port.',
      severity: 'error',
      from: { path: '^services/([^/]+)/src/domain/', pathNot: TESTS },
      to: { pathNot: ['^services/$1/src/domain/', '^packages/contracts/src/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'data-access-serves-the-domain',
      comment:
        'data-access implements the ports of the domain; it never calls back into entry points or a process file.',
      severity: 'error',
      from: { path: '^services/([^/]+)/src/data-access/', pathNot: TESTS },
      to: { path: ['^services/$1/src/entry-points/', '^services/$1/src/main-[^/]+$'] },
    },
    {
      name: 'no-process-file-as-library',
      comment:
        'A main-*.ts file wires one process; what two processes share lives in the layers. Tests may start a ' +
        "process's main in-process.",
      severity: 'error',
      from: { path: '^(services|packages)/', pathNot: TESTS },
      to: { path: '^services/[^/]+/src/main-[^/]+$' },
    },
    {
      name: 'kafkajs-behind-the-port',
      comment:
        'kafkajs is in maintenance mode: only the Kafka port (packages/messaging/) may import it, so another ' +
        'client drops in there. Tests, test support and the benchmark may (they send raw bytes and measure bare kafkajs).',
      severity: 'error',
      from: { path: '^(services|packages)/', pathNot: ['^packages/messaging/src/', ...TESTS] },
      to: { path: 'node_modules/kafkajs/' },
    },
    {
      name: 'runtime-below-messaging',
      comment: '@cards/messaging is built on @cards/runtime, never the other way round.',
      severity: 'error',
      from: { path: '^packages/runtime/' },
      to: { path: ['^packages/messaging/', 'node_modules/@cards/messaging/'] },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'Contracts are schemas, constants and the one error type (AppError): no dependency but zod.',
      severity: 'error',
      // Its tests may use dev tools (the dashboard test reads prom-client's default metric names).
      from: { path: '^packages/contracts/', pathNot: '\\.test\\.ts$' },
      to: { path: ['^packages/(runtime|messaging|test-support)/', '^services/', 'node_modules/(?!zod/)'] },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      from: { path: '^(services|packages)/[^/]+/src/', pathNot: '\\.test\\.ts$|^packages/test-support/' },
      to: { path: ['^packages/test-support/', '/test/', '\\.test\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  required: [
    {
      name: 'console-calls-through-the-client',
      comment:
        'The operator console calls the API through @cards/client (typed from the OpenAPI document, bundled into its ' +
        'script by esbuild), not through a fetch wrapper of its own that could drift from the contract.',
      module: { path: '^services/card-api/console/src/api\\.ts$' },
      to: { path: '^packages/client/src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'] },
  },
};
