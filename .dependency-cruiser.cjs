// `npm run lint` checks the layering: no import cycle anywhere in src/, the domain
// (src/services) free of Slack and HTTP, and the Slack and web layers apart (both depend on
// the domain; src/app.ts composes them). Parsed with swc: dependency-cruiser 17 cannot read
// TypeScript 7's compiler.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: modules that cannot be understood (or loaded) one without the other.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'slack-not-web',
      severity: 'error',
      comment: 'The Slack layer does not use the web layer: what both need lives in the domain or is passed in by src/app.ts.',
      from: { path: '^src/slack/' },
      to: { path: '^src/web/' },
    },
    {
      name: 'web-not-slack',
      severity: 'error',
      comment: 'The web layer does not use the Slack layer.',
      from: { path: '^src/web/' },
      to: { path: '^src/slack/' },
    },
    {
      name: 'jobs-through-the-domain',
      severity: 'error',
      comment: 'Jobs (src/jobs) act through the domain; what they tell people goes through its Notifier, not the Slack or web layer.',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(slack|web)/' },
    },
    {
      name: 'domain-free-of-transports',
      severity: 'error',
      comment: 'src/services holds the rules: no Slack, no HTTP, no Bolt.',
      from: { path: '^src/services/' },
      // dependency-cruiser names Node's built-ins without their node: prefix.
      to: { path: ['^src/(slack|web)/', '(^|/)node_modules/@slack/|^@slack/', '^(node:)?(http|https|http2|net|tls)$'] },
    },
    {
      name: 'only-the-composition-joins-layers',
      severity: 'error',
      comment: 'Outside the layers, only src/app.ts (the composition) and src/index.ts use the Slack or web layer.',
      from: { path: '^src/[^/]+\\.ts$', pathNot: '^src/(app|index)\\.ts$' },
      to: { path: '^src/(slack|web)/' },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
