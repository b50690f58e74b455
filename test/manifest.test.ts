// manifest.yml is valid for Slack (its published JSON schema, copied into test/fixtures) and
// asks for what the app needs: the slash command, interactivity over HTTP, the bot scopes the
// code uses and no more.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OAUTH_REDIRECT_PATH, SIGNED_IN_PATH } from '../src/paths.js';
import { COMMAND } from '../src/slack/listeners/command.js';
import { BOT_SCOPES } from '../src/slack/oauth.js';

const fixtures = (name: string) => fileURLToPath(new URL(`./fixtures/slack-manifest-schema/${name}`, import.meta.url));
const manifestPath = fileURLToPath(new URL('../manifest.yml', import.meta.url));

type Manifest = {
  _metadata?: { major_version?: number };
  display_information: { name: string; background_color?: string };
  features?: {
    slash_commands?: Array<{ command: string; url?: string; should_escape?: boolean }>;
    app_home?: { home_tab_enabled?: boolean };
  };
  oauth_config?: { redirect_urls?: string[]; scopes?: { bot?: string[]; user?: string[] } };
  settings?: {
    interactivity?: { is_enabled?: boolean; request_url?: string };
    event_subscriptions?: { request_url?: string; bot_events?: string[] };
    socket_mode_enabled?: boolean;
  };
};

function readManifest(): Manifest {
  return parse(readFileSync(manifestPath, 'utf8')) as Manifest;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message}`).join('\n');
}

describe('manifest.yml', () => {
  let validate: ValidateFunction;

  beforeAll(() => {
    const schema = JSON.parse(readFileSync(fixtures('manifest.schema.1.0.0.json'), 'utf8')) as Record<string, unknown>;
    // The schema is draft-07 plus one keyword of Slack's own, `regex`: Ajv would reject it in
    // strict mode, and would ignore it otherwise, so it is defined here to be checked too.
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addKeyword({
      keyword: 'regex',
      type: 'string',
      schemaType: 'string',
      validate: (pattern: string, data: string) => new RegExp(pattern).test(data),
    });
    // The schema's one format (for a manifest's own `$schema`), without pulling in ajv-formats.
    ajv.addFormat('uri', (value: string) => URL.canParse(value));
    validate = ajv.compile(schema);
  });

  it('ships the schema with its licence, copied unchanged from slackapi/manifest-schema', () => {
    const schema = JSON.parse(readFileSync(fixtures('manifest.schema.1.0.0.json'), 'utf8')) as Record<string, unknown>;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(readFileSync(fixtures('LICENSE'), 'utf8')).toMatch(/MIT License/);
  });

  it('is a valid Slack app manifest (schema 1.0.0)', () => {
    const manifest = readManifest();
    expect(manifest._metadata?.major_version ?? 1).toBe(1);
    const valid = validate(manifest);
    expect(describeErrors(validate.errors)).toBe('');
    expect(valid).toBe(true);
  });

  it('declares the one slash command the app answers, escaped so mentions arrive as user ids', () => {
    const commands = readManifest().features?.slash_commands ?? [];
    expect(commands.map((c) => c.command)).toEqual([COMMAND]);
    expect(COMMAND).toBe('/chatbees-users');
    expect(commands[0]?.should_escape).toBe(true);
  });

  it('sends commands and interactivity over HTTP to the Bolt receiver at /slack/events', () => {
    const manifest = readManifest();
    expect(manifest.settings?.socket_mode_enabled).toBe(false);
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true);
    const urls = [
      ...(manifest.features?.slash_commands ?? []).map((c) => c.url),
      manifest.settings?.interactivity?.request_url,
      ...(manifest.settings?.event_subscriptions ? [manifest.settings.event_subscriptions.request_url] : []),
    ];
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const url of urls) {
      expect(url).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
    }
  });

  it('enables the Home tab and subscribes to exactly the events the code listens to', () => {
    const manifest = readManifest();
    expect(manifest.features?.app_home?.home_tab_enabled).toBe(true);
    const subscribed = [...(manifest.settings?.event_subscriptions?.bot_events ?? [])].sort();
    const listeners = fileURLToPath(new URL('../src/slack/listeners/', import.meta.url));
    const listened = [
      ...readdirSync(listeners)
        .map((file) => readFileSync(`${listeners}${file}`, 'utf8'))
        .join('\n')
        .matchAll(/router\.event\('([a-z_]+)'/g),
    ]
      .map((m) => m[1])
      .sort();
    expect(subscribed).toEqual(listened);
    expect(subscribed).toContain('app_home_opened');
  });

  it('asks for exactly the bot scopes the code uses', () => {
    const scopes = readManifest().oauth_config?.scopes?.bot ?? [];
    // commands: /chatbees-users; chat:write + im:write: DMs (conversations.open, chat.postMessage);
    // users:read + users:read.email: users.info for invitees and INITIAL_ADMINS, with their email;
    // channels:read + groups:read + usergroups:read: conversations.members, usergroups.users.list
    // (inviting channels and groups); im:history: conversations.history on a DM after a crash;
    // files:write: the CSV of invitations Slack could not deliver.
    expect([...scopes].sort()).toEqual([
      'channels:read',
      'chat:write',
      'commands',
      'files:write',
      'groups:read',
      'im:history',
      'im:write',
      'usergroups:read',
      'users:read',
      'users:read.email',
    ]);
    expect(new Set(scopes).size).toBe(scopes.length);
    // The OAuth install (multi-workspace mode) asks each workspace for the same.
    expect([...BOT_SCOPES].sort()).toEqual([...scopes].sort());
  });

  it("lists the redirect URLs of Sign in with Slack and of the OAuth install, on the bot's host", () => {
    const urls = readManifest().oauth_config?.redirect_urls ?? [];
    const paths = urls.map((u) => new URL(u).pathname).sort();
    expect(paths).toEqual([OAUTH_REDIRECT_PATH, SIGNED_IN_PATH].sort());
    expect(new Set(urls.map((u) => new URL(u).origin)).size).toBe(1);
  });

  describe('the validator catches broken manifests', () => {
    it('refuses a slash command without its leading slash', () => {
      const manifest = readManifest();
      const command = manifest.features?.slash_commands?.[0];
      if (!command) throw new Error('manifest has no slash command');
      command.command = 'chatbees-users';
      expect(validate(manifest)).toBe(false);
      expect(validate.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ instancePath: '/features/slash_commands/0/command', keyword: 'pattern' }),
        ]),
      );
    });

    it('refuses unknown settings, a missing name and a malformed colour', () => {
      const manifest = readManifest() as Manifest & { settings: Record<string, unknown> };
      manifest.settings.socket_mode = true;
      manifest.display_information.background_color = 'black';
      const { name: _name, ...rest } = manifest.display_information;
      manifest.display_information = rest as Manifest['display_information'];
      expect(validate(manifest)).toBe(false);
      const found = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
      expect(found).toEqual(
        expect.arrayContaining([
          '/settings additionalProperties',
          '/display_information required',
          '/display_information/background_color regex',
        ]),
      );
    });
  });
});
