// `npm run migrate` and `npm run migrate:rollback`: the knexfile's database (DATABASE_URL),
// to the latest migration, or all the way down including knex's own bookkeeping tables.
import knexFactory from 'knex';
import { readEnvironment } from '../config.js';

if (!readEnvironment().DATABASE_URL) {
  console.error('Set DATABASE_URL to a postgres:// URL (the embedded database is migrated when the bot starts).');
  process.exit(2);
}
const { default: config } = await import('../../knexfile.js');
const command = process.argv[2];
const knex = knexFactory(config);
try {
  if (command === 'latest') {
    const [batch, names] = await knex.migrate.latest();
    console.log(names.length ? `Batch ${batch} applied: ${names.join(', ')}` : 'Already up to date.');
  } else if (command === 'rollback') {
    const [, names] = await knex.migrate.rollback(undefined, true);
    await knex.schema.dropTableIfExists('knex_migrations_lock');
    await knex.schema.dropTableIfExists('knex_migrations');
    console.log(names.length ? `Rolled back: ${names.join(', ')}` : 'Nothing to roll back.');
  } else {
    console.error('usage: migrate-cli.ts latest|rollback');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`Migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await knex.destroy();
}
