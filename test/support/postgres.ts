import { randomBytes } from 'node:crypto';

/** A URL of the same server pointed at another database. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The server's maintenance database, to create and drop test databases from. */
export function adminUrl(url: string): string {
  return databaseUrl(url, 'postgres');
}

export function templateName(): string {
  return `chatbees_users_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export function scratchName(): string {
  return `chatbees_users_t_${randomBytes(6).toString('hex')}`;
}
