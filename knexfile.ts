import type { Knex } from 'knex';
import { readEnvironment } from './src/config.js';
import { migrationSource } from './src/db/migration-source.js';

// For the knex CLI (`npm run migrate`, `npm run migrate:rollback`), against DATABASE_URL.
// The app migrates its database itself at start, the embedded one included.
const databaseUrl = readEnvironment().DATABASE_URL;
if (!databaseUrl) {
  throw new Error(
    'Set DATABASE_URL to a postgres:// URL to run migrations with the knex CLI ' +
      '(the embedded database is migrated automatically when the bot starts).',
  );
}

const config: Knex.Config = {
  client: 'pg',
  connection: databaseUrl,
  migrations: { migrationSource },
};

export default config;
