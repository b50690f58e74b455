// The one entry point: `npm start`.
import { createBot, StartupError } from './app.js';
import { type Config, ConfigError, loadConfig, secretValues } from './config.js';
import { migrateToLatest, openDatabase } from './db/database.js';
import { DataDirLockedError } from './db/pglite-lock.js';
import { createLogger, scrubText } from './logger.js';
import { resolveRegistrationLinkSecret, sharedRegistrationLinkSecret } from './registration-link-secret.js';

const STOP_GRACE_MS = 8_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // With PostgreSQL and no configured key, the key is shared through the database (read once it is open).
  const fileSecret =
    config.registrationLink.secret || !config.databaseUrl
      ? resolveRegistrationLinkSecret({
          configured: config.registrationLink.secret,
          pgliteDataDir: config.pgliteDataDir,
        })
      : undefined;
  const secrets = [...(fileSecret ? [fileSecret.secret] : []), ...secretValues(config)];
  const logger = createLogger({
    level: config.logLevel,
    pretty: config.nodeEnv === 'development' && process.stdout.isTTY,
    secrets,
  });
  // A failure nobody awaited (say, a lost database connection noticed in the background)
  // is logged; the process keeps serving and recovers when the cause goes away.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  if (fileSecret?.source === 'generated') logger.info({ file: fileSecret.file }, 'generated a registration link key');

  const db = await openDatabase(config);
  logger.info(
    {
      backend: db.backend,
      dataDir: config.databaseUrl ? undefined : config.pgliteDataDir,
      pooler: config.databaseUrl ? config.databasePooler : undefined,
    },
    'database open',
  );
  let stopping = false;
  try {
    await migrateToLatest(db.knex);
    let linkSecret = fileSecret?.secret;
    if (!linkSecret) {
      const shared = await sharedRegistrationLinkSecret(db.knex);
      secrets.push(shared.secret);
      if (shared.source === 'generated') logger.info('generated a registration link key, kept in the database');
      linkSecret = shared.secret;
    }
    const bot = await createBot({ config, logger, db, linkSecret });
    const port = await bot.listen();
    logger.info(
      {
        port,
        mode: config.slack.mode,
        workspaces: bot.account
          ? bot.account.name
          : `every one that installs the app (${config.publicUrl}/slack/install)`,
        publicUrl: config.publicUrl,
      },
      'chatbees-users is serving',
    );

    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing requests in flight');
      const forced = setTimeout(() => {
        logger.error('could not stop in time; exiting');
        process.exit(1);
      }, STOP_GRACE_MS + 1_500);
      forced.unref();
      await bot.stop(STOP_GRACE_MS);
      await db.close();
      logger.info('stopped');
      process.exit(0);
    };
    process.once('SIGTERM', (s) => void stop(s));
    process.once('SIGINT', (s) => void stop(s));
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

main().catch((err: unknown) => {
  if (err instanceof StartupError || err instanceof DataDirLockedError) {
    console.error(err.message);
  } else {
    console.error(`chatbees-users could not start: ${scrubText(err instanceof Error ? err.message : String(err))}`);
  }
  process.exit(1);
});
