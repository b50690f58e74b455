// The bot as a real process, started the way `npm start` starts it.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { poolerUrl } from './databases.js';
import { waitFor } from './slack-stand-in.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BotProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every line the process wrote to stdout and stderr. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnBot(env: Record<string, string>, timeoutMs = 30_000): Promise<BotProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      PORT: '0',
      // The pooler pass (TEST_POOLER_URL): a test database's URL leads through PgBouncer.
      ...(env.DATABASE_URL && poolerUrl ? { DATABASE_POOLER: 'transaction' } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      output.push(...lines.filter(Boolean));
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const port = await waitFor(
    () => {
      if (ended) throw new Error(`the bot exited before serving:\n${output.join('\n')}`);
      const line = output.find((l) => l.includes('chatbees-users is serving'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    },
    timeoutMs,
    'the bot to serve',
  );
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!ended) child.kill(signal);
      return exited;
    },
  };
}
