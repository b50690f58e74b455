// A registration link as the web layer names it: its page's path, and a digest that stands for it
// in cookies and rate limits (never the token itself).
import { createHash } from 'node:crypto';
import { REGISTER_PATH } from '../paths.js';

export const linkDigest = (token: string) => createHash('sha256').update(token).digest('base64url');
/** The path of a link's page on this server. */
export const linkPath = (token: string) => `${REGISTER_PATH}${encodeURIComponent(token)}`;
