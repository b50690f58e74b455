// Property-based tests (fast-check) of the two places hostile text reaches first: the command
// parser and the registration-token verifier.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_INVITEES } from '../../src/services/operations/invite-people.js';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { type Command, commandOperation, parseCommand } from '../../src/slack/command/parse.js';

const KINDS = new Set<Command['kind']>([
  'console',
  'help',
  'whoami',
  'list',
  'invite',
  'invite_link',
  'invites',
  'revoke',
  'role',
  'remove',
  'audit',
  'unknown',
  'invalid',
]);

// Text shaped like what people type: words, mentions (escaped or not), ids, noise.
const word = fc.oneof(
  fc.constantFrom(
    'invite',
    'role',
    'remove',
    'list',
    'page',
    'revoke',
    'audit',
    'admin',
    'user',
    'AccountAdmin',
    'help',
    'whoami',
    'invites',
  ),
  fc.stringMatching(/^U[A-Z0-9]{6,12}$/).map((id) => `<@${id}|${id.toLowerCase()}>`),
  fc.stringMatching(/^[UW][A-Z0-9]{6,12}$/).map((id) => `<@${id}>`),
  fc.stringMatching(/^[a-z0-9]{6,14}$/),
  fc.integer({ min: -5, max: 2_000_000 }).map(String),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('<!channel>', '<!here>', '<@', '>', '|', '`', '\u0000', '\u202e', '\ud83d'),
);
const commandText = fc.oneof(
  fc.array(word, { maxLength: 60 }).map((w) => w.join(' ')),
  fc.string({ maxLength: 5000 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

describe('the command parser, on any text', () => {
  it('returns a command or a one-line reason, and never throws', () => {
    fc.assert(
      fc.property(commandText, (text) => {
        const command = parseCommand(text);
        expect(KINDS.has(command.kind)).toBe(true);
        if (command.kind === 'invalid') {
          expect(command.message.length).toBeGreaterThan(0);
          expect(command.message).not.toContain('\n');
          expect(command.message.length).toBeLessThan(400);
        }
        if (command.kind === 'invite') {
          expect(command.users.length).toBeGreaterThan(0);
          expect(command.users.length).toBeLessThanOrEqual(MAX_INVITEES);
          for (const user of command.users) expect(user).toMatch(/^[UW][A-Z0-9]+$/);
        }
        if (command.kind === 'role' || command.kind === 'remove') expect(command.user).toMatch(/^[UW][A-Z0-9]+$/);
        if (command.kind === 'revoke') expect(command.inviteId).toMatch(/^[a-z0-9]{6,32}$/);
        // Whatever the text, the permission decision is a plain yes or no.
        expect(['admin', 'everyone', undefined]).toContain(commandOperation(command)?.who);
      }),
      { numRuns: 3_000 },
    );
  });

  it('never treats an admin subcommand as open to everyone, whatever follows it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('list', 'invite', 'invites', 'revoke', 'role', 'remove', 'audit'),
        fc.array(word, { maxLength: 8 }),
        (name, rest) => {
          const text = [name, ...rest].join(' ');
          fc.pre(text.length <= 2500 && !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(text));
          expect(commandOperation(parseCommand(text))?.who).toBe('admin');
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('the registration token verifier, on hostile tokens', () => {
  const SECRET = 'property-test-registration-link-secret-0123456789';
  const links = new RegistrationLinks({ publicUrl: 'https://bees.example.test', secret: SECRET });
  const invite = { id: 'abcdefghij', expiresAt: new Date(Date.now() + 86_400_000) };
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('accepts its own token', async () => {
    expect(await links.verify(await links.sign(invite))).toEqual({ ok: true, inviteId: 'abcdefghij', expired: false });
  });

  it('rejects any altered token', async () => {
    const token = await links.sign(invite);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
        async (at, char) => {
          fc.pre(token[at] !== char);
          const altered = token.slice(0, at) + char + token.slice(at + 1);
          const result = await links.verify(altered);
          // Changing the last character may leave the decoded signature bytes the same
          // (base64url's final character carries spare bits); then it is the same token.
          if (result.ok)
            expect(Buffer.from(altered.split('.')[2] ?? '', 'base64url')).toEqual(
              Buffer.from(token.split('.')[2] ?? '', 'base64url'),
            );
          else expect(result).toEqual({ ok: false, reason: 'invalid' });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('rejects tokens signed with any other key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 32, maxLength: 64 }), async (otherSecret) => {
        fc.pre(otherSecret !== SECRET);
        const forged = await new RegistrationLinks({ publicUrl: 'https://x', secret: otherSecret }).sign(invite);
        expect(await links.verify(forged)).toEqual({ ok: false, reason: 'invalid' });
      }),
      { numRuns: 100 },
    );
  });

  it('rejects arbitrary strings and JWT-shaped garbage', async () => {
    const jwtShaped = fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => parts.join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 3000 }), jwtShaped), async (text) => {
        expect(await links.verify(text)).toEqual({ ok: false, reason: 'invalid' });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects algorithm swaps: none, HS512, RS256, and HS256 keyed with an RSA public key', async () => {
    const real = await links.sign(invite);
    const [header, payload] = real.split('.') as [string, string];
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

    const none = `${b64({ alg: 'none', typ: 'JWT', kid })}.${payload}.`;
    const hs512 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS512', kid })
      .sign(new TextEncoder().encode(SECRET));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const confusedHeader = b64({ alg: 'HS256', kid });
    const confused = `${confusedHeader}.${payload}.${createHmac('sha256', publicPem).update(`${confusedHeader}.${payload}`).digest('base64url')}`;
    const noKid = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'someone-else' })
      .sign(new TextEncoder().encode(SECRET));
    for (const token of [none, hs512, rs256, confused, noKid, unknownKid]) {
      expect(await links.verify(token)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('rejects a genuine signature over altered claims, or over claims for another audience', async () => {
    const real = await links.sign(invite);
    const [header, payload, signature] = real.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9]{6,32}$/), async (otherId) => {
        fc.pre(otherId !== invite.id);
        const swapped = `${header}.${b64({ ...claims, jti: otherId })}.${signature}`;
        expect(await links.verify(swapped)).toEqual({ ok: false, reason: 'invalid' });
      }),
      { numRuns: 100 },
    );
    const key = new TextEncoder().encode(SECRET);
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
    const otherAudience = await new SignJWT({ ...claims, aud: 'something-else' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(key);
    const otherIssuer = await new SignJWT({ ...claims, iss: 'someone' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(key);
    const noJti = await new SignJWT({ ...claims, jti: undefined }).setProtectedHeader({ alg: 'HS256', kid }).sign(key);
    for (const token of [otherAudience, otherIssuer, noJti]) {
      expect(await links.verify(token)).toEqual({ ok: false, reason: 'invalid' });
    }
  });
});
