// What migrations 016 and 017 leave behind, on both backends: the searched email column kept
// lower-cased by the database, and the rate-limit counts in a table without a write-ahead log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../support/databases.js';
import { insertMembers, makeServices, newAccount } from '../support/fixtures.js';

describe.each(backends)('schema on $name', (backend) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  it('keeps email_lower as the lower-cased email, on insert and on change', async () => {
    const account = await newAccount(makeServices(db.knex));
    await insertMembers(db.knex, account, [{ slackUserId: 'UMIXED', email: 'Ana.Müller@Bees.TEST' }]);
    const read = () => db.knex('members').where({ slack_user_id: 'UMIXED' }).first('email_lower');
    expect(await read()).toEqual({ email_lower: 'ana.müller@bees.test' });
    await db.knex('members').where({ slack_user_id: 'UMIXED' }).update({ email: 'ANA@Other.Test' });
    expect(await read()).toEqual({ email_lower: 'ana@other.test' });
  });

  it('keeps the rate-limit counts in an unlogged table', async () => {
    const { rows } = await db.knex.raw("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'");
    expect(rows).toEqual([{ relpersistence: 'u' }]);
  });
});
