// The one dispatcher of the Slack surface: which handler a request reaches, and what reaches none.
import type { AllMiddlewareArgs, AnyMiddlewareArgs } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/slack/router.js';

function dispatch(router: Router, body: Record<string, unknown>) {
  let passedOn = false;
  const args = {
    body,
    next: async () => {
      passedOn = true;
    },
  } as unknown as AnyMiddlewareArgs & AllMiddlewareArgs;
  return (router.middleware() as (a: typeof args) => Promise<void>)(args).then(() => passedOn);
}

describe('Router', () => {
  const seen: string[] = [];
  const router = new Router();
  router.command('/chatbees-users', async () => void seen.push('command'));
  router.blockActions(async () => void seen.push('button'));
  router.view('invite_people', async () => void seen.push('form'));
  router.event('team_join', async () => void seen.push('team_join'));

  it('runs the handler a request is for, and passes on what has none', async () => {
    seen.length = 0;
    expect(await dispatch(router, { command: '/chatbees-users', text: 'help' })).toBe(false);
    expect(await dispatch(router, { type: 'block_actions', actions: [{ action_id: 'x' }] })).toBe(false);
    expect(await dispatch(router, { type: 'view_submission', view: { callback_id: 'invite_people' } })).toBe(false);
    expect(await dispatch(router, { type: 'event_callback', event: { type: 'team_join' } })).toBe(false);
    expect(seen).toEqual(['command', 'button', 'form', 'team_join']);

    seen.length = 0;
    // Another command, a closed modal (as Bolt's app.view: submissions only), other events.
    expect(await dispatch(router, { command: '/other', text: '' })).toBe(true);
    expect(await dispatch(router, { type: 'view_closed', view: { callback_id: 'invite_people' } })).toBe(true);
    expect(await dispatch(router, { type: 'view_submission', view: { callback_id: 'other' } })).toBe(true);
    expect(await dispatch(router, { type: 'event_callback', event: { type: 'user_change' } })).toBe(true);
    expect(await dispatch(router, { type: 'shortcut' })).toBe(true);
    expect(seen).toEqual([]);
  });

  it('refuses a second handler for the same thing', () => {
    expect(() => router.command('/chatbees-users', async () => {})).toThrow(/already has a handler/);
    expect(() => router.blockActions(async () => {})).toThrow(/already has a handler/);
    expect(() => router.view('invite_people', async () => {})).toThrow(/already has a handler/);
    expect(() => router.event('team_join', async () => {})).toThrow(/already has a handler/);
  });
});
