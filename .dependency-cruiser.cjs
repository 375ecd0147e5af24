/**
 * Architecture rules, enforced by `make lint`:
 * services never import each other; the domain stays free of frameworks and drivers; production code never
 * imports test code.
 */
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
      comment: 'Use cases and rules know nothing of HTTP, SQL, Kafka or metrics: they get ports passed in.',
      severity: 'error',
      from: { path: '^services/[^/]+/src/domain/' },
      to: {
        path: ['node_modules/(express|knex|pg|kafkajs|prom-client)/', '/entry-points/', '/data-access/'],
      },
    },
    {
      name: 'kafkajs-behind-the-port',
      comment:
        'kafkajs is in maintenance mode: only the Kafka port (packages/platform/src/kafka/) may import it, so another ' +
        'client drops in there. Tests, test support and the benchmark may (they send raw bytes and measure bare kafkajs).',
      severity: 'error',
      from: {
        path: '^(services|packages)/',
        pathNot: [
          '^packages/platform/src/kafka/',
          '\\.test\\.ts$',
          '^services/[^/]+/test/',
          '^packages/[^/]+/test/',
          '^packages/test-support/',
        ],
      },
      to: { path: 'node_modules/kafkajs/' },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'Contracts are schemas and constants only.',
      severity: 'error',
      // Its tests may use dev tools (the dashboard test reads prom-client's default metric names).
      from: { path: '^packages/contracts/', pathNot: '\\.test\\.ts$' },
      to: { path: ['^packages/(platform|test-support)/', '^services/', 'node_modules/(?!zod/)'] },
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
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'] },
  },
};
